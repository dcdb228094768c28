package dev.protomatch.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import org.junit.jupiter.api.Test;

/** {@code protomatch greeter} refusing to start: one line, exit code 2, no stack trace. */
class GreeterCommandErrorsTest {
  @Test
  void aPortInUseIsOneLine() throws IOException {
    try (ServerSocket taken = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
      int port = taken.getLocalPort();

      CliRun run = CliRun.of("greeter", "--build", "v2", "--port", Integer.toString(port));

      assertThat(run.exit()).isEqualTo(Main.EXIT_USER_ERROR);
      assertThat(run.err()).isEqualTo("protomatch greeter: --port " + port + ": cannot listen on 127.0.0.1:" + port
          + ": Address already in use" + System.lineSeparator());
    }
  }

  @Test
  void aRegistrationAddressWithoutPortIsOneLine() {
    CliRun run = CliRun.of("greeter", "--build", "v2", "--register", "nohostport");

    assertThat(run.exit()).isEqualTo(Main.EXIT_USER_ERROR);
    assertThat(run.err()).isEqualTo("protomatch greeter: --register: expected HOST:PORT, got 'nohostport'"
        + System.lineSeparator());
  }
}
