package dev.protomatch.cli;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.protomatch.decision.RoutableEndpoint;
import dev.protomatch.demo.DemoGreeters;
import dev.protomatch.registry.EndpointAddress;
import dev.protomatch.server.ControlPlane;
import dev.protomatch.server.ControlPlaneOptions;
import dev.protomatch.testing.LoopbackServer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code protomatch demo-client} over real greeter builds (an old v1 without SayHelloAgain, a new v2): its report
 * per method and per answering endpoint, round robin over both (static:///) and through protomatch (xds:///,
 * with {@code --xds-server} instead of a bootstrap file).
 */
class DemoClientPerMethodTest {
  private static LoopbackServer v1;
  private static LoopbackServer v2;

  @BeforeAll
  static void startGreeters() {
    v1 = LoopbackServer.start(LoopbackServer.Reflection.V1_AND_V1ALPHA, DemoGreeters.v1("old-v1"));
    v2 = LoopbackServer.start(LoopbackServer.Reflection.V1_AND_V1ALPHA, DemoGreeters.v2("new-v2"));
  }

  @AfterAll
  static void stopGreeters() {
    v1.close();
    v2.close();
  }

  /** Strictly alternating calls could line up with the alternating endpoints and hide the old build. */
  @Test
  void roundRobinOverAnOldAndANewBuildShowsEverySayHelloAgainToTheOldOneUnimplemented() {
    String target = "static:///127.0.0.1:" + v1.port() + ",127.0.0.1:" + v2.port();
    for (int run = 0; run < 5; run++) {
      CliRun client = CliRun.of("demo-client", "--target", target, "--calls", "32");

      List<String> again = section(client.out(), "SayHelloAgain");
      assertThat(again.get(0)).as(client.out()).startsWith("SayHelloAgain: calls=16 ").contains(" UNIMPLEMENTED=");
      assertThat(again).as(client.out())
          .anySatisfy(line -> assertThat(line).matches("  127\\.0\\.0\\.1:" + v1.port()
              + " old-v1 \\(v1\\): calls=(\\d+) UNIMPLEMENTED=\\1"))
          .anySatisfy(line -> assertThat(line).matches("  127\\.0\\.0\\.1:" + v2.port()
              + " new-v2 \\(v2\\): calls=(\\d+) OK=\\1"))
          .hasSize(3);
      assertThat(section(client.out(), "SayHello")).as(client.out()).first().isEqualTo("SayHello: calls=16 OK=16");
      assertThat(client.out().lines().reduce((a, b) -> b).orElseThrow()).matches("calls=32 OK=\\d+ UNIMPLEMENTED=\\d+");
      assertThat(client.exit()).isZero();
    }
  }

  @Test
  void throughProtomatchWithXdsServerSayHelloAgainReachesOnlyTheNewBuild(@TempDir Path dir) throws Exception {
    Path policy = Files.writeString(dir.resolve("policies.yaml"), """
        settings:
          auth:
            insecure: true
        services:
          - service: demo.Greeter
            cluster: demo-greeter
            expect:
              methods: [SayHello, SayHelloAgain]
            static-endpoints:
              - 127.0.0.1:%d
              - 127.0.0.1:%d
        """.formatted(v1.port(), v2.port()));
    try (ControlPlane controlPlane = ControlPlane.start(
        ControlPlaneOptions.loopbackDefaults(Optional.of(policy)).withPorts(0, 0, 0), Clock.systemUTC(),
        Map.<String, String>of()::get)) {
      await().atMost(Duration.ofSeconds(20)).until(() -> controlPlane.updater().updateNow().services()
          .get("demo.Greeter").included().stream().map(RoutableEndpoint::address)
          .anyMatch(new EndpointAddress("127.0.0.1", v2.port())::equals));

      CliRun client = CliRun.of("demo-client", "--target", "xds:///demo-greeter",
          "--xds-server", "127.0.0.1:" + controlPlane.xdsPort(), "--node-id", "per-method-test", "--calls", "32");

      assertThat(client.err()).isEmpty();
      assertThat(section(client.out(), "SayHelloAgain")).as(client.out()).containsExactly(
          "SayHelloAgain: calls=16 OK=16", "  127.0.0.1:" + v2.port() + " new-v2 (v2): calls=16 OK=16");
      assertThat(section(client.out(), "SayHello").get(0)).as(client.out()).isEqualTo("SayHello: calls=16 OK=16");
      assertThat(client.out().lines().reduce((a, b) -> b)).hasValue("calls=32 OK=32");
      assertThat(client.exit()).isZero();
    }
  }

  @Test
  void anUnreachableXdsServerIsOneLine() throws Exception {
    int closed;
    try (java.net.ServerSocket socket = new java.net.ServerSocket(0, 1, java.net.InetAddress.getLoopbackAddress())) {
      closed = socket.getLocalPort();
    }

    CliRun client = CliRun.of("demo-client", "--target", "xds:///demo-greeter", "--xds-server", "127.0.0.1:" + closed,
        "--calls", "2");

    assertThat(client.exit()).isEqualTo(Main.EXIT_USER_ERROR);
    assertThat(client.err()).startsWith("protomatch demo-client: cannot reach demo.Greeter through xds:///demo-greeter: "
        + "UNAVAILABLE: ").contains("LDS resource demo-greeter");
    assertThat(client.err().lines()).hasSize(1);
    assertThat(client.out()).isEmpty();
  }

  @Test
  void xdsServerIsOnlyForAnXdsTarget() {
    CliRun client = CliRun.of("demo-client", "--target", "static:///127.0.0.1:1", "--xds-server", "127.0.0.1:18000");

    assertThat(client.exit()).isEqualTo(Main.EXIT_USER_ERROR);
    assertThat(client.err()).isEqualTo("protomatch demo-client: --xds-server is for an xds:/// target, not --target"
        + " static:///127.0.0.1:1" + System.lineSeparator());
  }

  @Test
  void aMalformedXdsServerIsOneLine() {
    CliRun client = CliRun.of("demo-client", "--target", "xds:///demo-greeter", "--xds-server", "nope");

    assertThat(client.exit()).isEqualTo(Main.EXIT_USER_ERROR);
    assertThat(client.err()).isEqualTo("protomatch demo-client: --xds-server: expected HOST:PORT, got 'nope'"
        + System.lineSeparator());
  }

  /** The report's lines for {@code method}: its own line, then its endpoints' (indented) lines. */
  private static List<String> section(String out, String method) {
    List<String> lines = new ArrayList<>();
    boolean in = false;
    for (String line : out.lines().toList()) {
      if (!line.startsWith("  ")) {
        in = line.startsWith(method + ": ");
      }
      if (in) {
        lines.add(line);
      }
    }
    return lines;
  }
}
