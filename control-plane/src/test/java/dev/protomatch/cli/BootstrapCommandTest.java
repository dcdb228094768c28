package dev.protomatch.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.PrintWriter;
import java.io.StringWriter;
import org.junit.jupiter.api.Test;
import picocli.CommandLine;

class BootstrapCommandTest {
  private final StringWriter out = new StringWriter();
  private final StringWriter err = new StringWriter();

  @Test
  void printsAProxylessBootstrapForTheGivenServerAndNode() {
    int code = run("bootstrap", "--xds-server", "10.0.0.5:18000", "--node-id", "caller-1");

    assertThat(code).isZero();
    assertThat(out.toString()).contains("\"server_uri\" : \"10.0.0.5:18000\"", "\"id\" : \"caller-1\"");
  }

  @Test
  void printsAnEnvoyBootstrap() {
    int code = run("bootstrap", "--kind", "envoy", "--node-id", "sidecar-9");

    assertThat(code).isZero();
    assertThat(out.toString()).contains("id: \"sidecar-9\"", "port_value: 18000");
  }

  @Test
  void aMalformedServerAddressIsOneLine() {
    int code = run("bootstrap", "--xds-server", "nowhere", "--node-id", "x");

    assertThat(code).isEqualTo(Main.EXIT_USER_ERROR);
    assertThat(err.toString().strip()).isEqualTo("protomatch bootstrap: --xds-server: expected HOST:PORT, got 'nowhere'");
  }

  private int run(String... args) {
    CommandLine commandLine = Main.commandLine();
    commandLine.setOut(new PrintWriter(out, true));
    commandLine.setErr(new PrintWriter(err, true));
    return commandLine.execute(args);
  }
}
