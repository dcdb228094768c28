package dev.protomatch.cli;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.IOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** {@code protomatch demo-client} without a bootstrap or with nothing to call: one line, no stack trace. */
class DemoClientCommandTest {
  @Test
  void anXdsTargetWithoutBootstrapIsOneLineNamingGrpcXdsBootstrap() {
    assumeTrue(DemoClientCommand.missingBootstrap("xds:///x", System::getenv, System::getProperty).isPresent(),
        "this JVM has an xDS bootstrap configured");

    CliRun run = CliRun.of("demo-client", "--target", "xds:///x", "--calls", "2");

    assertThat(run.exit()).isEqualTo(Main.EXIT_USER_ERROR);
    assertThat(run.err()).isEqualTo("protomatch demo-client: --target xds:///x needs a gRPC xDS bootstrap: give"
        + " --xds-server HOST:PORT, or set GRPC_XDS_BOOTSTRAP to its path (e.g. envoy-config/proxyless-bootstrap.json)" + System.lineSeparator());
  }

  @Test
  void anyBootstrapSourceGrpcReadsCounts() {
    for (String variable : DemoClientCommand.BOOTSTRAP_VARIABLES) {
      assertThat(DemoClientCommand.missingBootstrap("xds:///x", Map.of(variable, "b.json")::get, name -> null))
          .isEmpty();
    }
    for (String property : DemoClientCommand.BOOTSTRAP_PROPERTIES) {
      assertThat(DemoClientCommand.missingBootstrap("xds:///x", name -> null, Map.of(property, "b.json")::get))
          .isEmpty();
    }
    assertThat(DemoClientCommand.missingBootstrap("static:///127.0.0.1:1", name -> null, name -> null)).isEmpty();
  }

  @Test
  void helpNamesGrpcXdsBootstrap() {
    CliRun run = CliRun.of("demo-client", "--help");

    assertThat(run.exit()).isZero();
    assertThat(run.out()).contains("GRPC_XDS_BOOTSTRAP", "--xds-server HOST:PORT");
  }

  @Test
  void aNodeIdWithoutXdsServerIsOneLine() {
    CliRun run = CliRun.of("demo-client", "--target", "xds:///x", "--node-id", "n");

    assertThat(run.exit()).isEqualTo(Main.EXIT_USER_ERROR);
    assertThat(run.err()).isEqualTo("protomatch demo-client: --node-id names the node of the bootstrap --xds-server"
        + " writes; give --xds-server HOST:PORT too (or set the node id in the GRPC_XDS_BOOTSTRAP file)"
        + System.lineSeparator());
  }

  @Test
  void nothingListeningIsOneLine() throws IOException {
    int port;
    try (ServerSocket closed = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
      port = closed.getLocalPort();
    }
    String target = "static:///127.0.0.1:" + port;

    CliRun run = CliRun.of("demo-client", "--target", target, "--calls", "4");

    assertThat(run.exit()).isEqualTo(Main.EXIT_USER_ERROR);
    assertThat(run.err()).startsWith("protomatch demo-client: cannot reach demo.Greeter through " + target
        + ": UNAVAILABLE: ").contains("Connection refused");
    assertThat(run.err().lines()).hasSize(1);
  }

  @Test
  void aTargetWithAnUnknownSchemeIsOneLine() {
    CliRun run = CliRun.of("demo-client", "--target", "bogus://x", "--calls", "2");

    assertThat(run.exit()).isEqualTo(Main.EXIT_USER_ERROR);
    assertThat(run.err()).isEqualTo("protomatch demo-client: --target bogus://x: Could not find a NameResolverProvider"
        + " for bogus://x (use xds:///NAME or static:///HOST:PORT,...)" + System.lineSeparator());
  }
}
