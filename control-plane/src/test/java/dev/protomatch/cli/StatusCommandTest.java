package dev.protomatch.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.net.ServerSocket;
import org.junit.jupiter.api.Test;

/** {@code protomatch status} when there is nothing to talk to. (Against a live fleet: AdminApiTest.) */
class StatusCommandTest {
  @Test
  void unreachableAdminPortIsOneLineAndExitCode2() throws Exception {
    int closedPort;
    try (ServerSocket socket = new ServerSocket(0)) {
      closedPort = socket.getLocalPort();
    }
    CliRun run = CliRun.of("status", "--admin", "http://127.0.0.1:" + closedPort);

    assertThat(run.exit()).isEqualTo(2);
    assertThat(run.err()).isEqualTo("protomatch status: cannot reach protomatch's admin port at http://127.0.0.1:"
        + closedPort + " (connection refused; is protomatch serve running? use --admin URL)\n");
  }

  @Test
  void anAdminAddressWithoutSchemeIsTakenAsHttp() throws Exception {
    int closedPort;
    try (ServerSocket socket = new ServerSocket(0)) {
      closedPort = socket.getLocalPort();
    }
    CliRun run = CliRun.of("status", "--admin", "127.0.0.1:" + closedPort);

    assertThat(run.exit()).isEqualTo(2);
    assertThat(run.err()).isEqualTo("protomatch status: cannot reach protomatch's admin port at 127.0.0.1:"
        + closedPort + " (connection refused; is protomatch serve running? use --admin URL)\n");
  }

  @Test
  void aMalformedAdminAddressIsOneLine() {
    CliRun run = CliRun.of("status", "--admin", "ftp://[nope");

    assertThat(run.exit()).isEqualTo(2);
    assertThat(run.err()).isEqualTo("protomatch status: --admin: expected http://HOST:PORT or HOST:PORT, got"
        + " 'ftp://[nope'\n");
  }
}
