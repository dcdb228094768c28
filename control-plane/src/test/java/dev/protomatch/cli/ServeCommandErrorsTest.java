package dev.protomatch.cli;

import static org.assertj.core.api.Assertions.assertThat;

import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.read.ListAppender;
import java.io.IOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import org.slf4j.LoggerFactory;

/**
 * {@code protomatch serve} refusing to start: each problem once, on one line, exit code 2, nothing else
 * logged. A start that wrongly succeeds would block until SIGTERM, hence the timeouts.
 */
@Timeout(120)
class ServeCommandErrorsTest {
  @TempDir
  Path dir;

  private final ListAppender<ILoggingEvent> logged = new ListAppender<>();
  private final Logger root = (Logger) LoggerFactory.getLogger(org.slf4j.Logger.ROOT_LOGGER_NAME);

  @BeforeEach
  void captureLogs() {
    logged.start();
    root.addAppender(logged);
  }

  @AfterEach
  void releaseLogs() {
    root.detachAppender(logged);
  }

  @Test
  void aBadPolicyPrintsEachErrorOnce() throws IOException {
    Path policy = Files.writeString(dir.resolve("policies.yaml"), """
        services:
          - service: demo.Greeter
            cluster: demo-greeter
            expect:
              methods: []
          - service: demo.Other
        """);

    CliRun run = CliRun.of("serve", "--config", policy.toString(), "--xds-port", "0", "--registration-port", "0",
        "--admin-port", "0");

    CliRun validate = CliRun.of("validate", "--skip-reference-checks", policy.toString());
    assertThat(validate.exit()).isEqualTo(Main.EXIT_USER_ERROR);
    assertThat(validate.err().lines()).hasSizeGreaterThan(1);
    assertThat(run.exit()).isEqualTo(Main.EXIT_USER_ERROR);
    assertThat(run.err()).isEqualTo(validate.err());
    assertThat(run.out()).isEmpty();
    assertThat(logged.list).extracting(ILoggingEvent::getFormattedMessage).isEmpty();
  }

  @Test
  void aMissingPolicyFileIsOneLine() {
    CliRun run = CliRun.of("serve", "--config", dir.resolve("nope.yaml").toString(), "--xds-port", "0",
        "--registration-port", "0", "--admin-port", "0");

    assertThat(run.exit()).isEqualTo(Main.EXIT_USER_ERROR);
    assertThat(run.err()).isEqualTo("protomatch serve: cannot read policy file '" + dir.resolve("nope.yaml")
        + "': no such file" + System.lineSeparator());
    assertThat(logged.list).extracting(ILoggingEvent::getFormattedMessage).isEmpty();
  }

  @Test
  void aPortInUseIsOneLine() throws IOException {
    try (ServerSocket taken = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
      int port = taken.getLocalPort();

      CliRun run = CliRun.of("serve", "--xds-port", Integer.toString(port), "--registration-port", "0",
          "--admin-port", "0");

      assertThat(run.exit()).isEqualTo(Main.EXIT_USER_ERROR);
      assertThat(run.err()).isEqualTo("protomatch serve: cannot listen on 127.0.0.1:" + port
          + " (xDS port): Address already in use (another protomatch running? choose ports with"
          + " --xds-port/--registration-port/--admin-port)" + System.lineSeparator());
      assertThat(logged.list).noneMatch(event -> event.getThrowableProxy() != null);
    }
  }

  @Test
  void anUnreadableTlsFileIsOneLine() {
    CliRun run = CliRun.of("serve", "--tls-cert", dir.resolve("cert.pem").toString(), "--tls-key",
        dir.resolve("key.pem").toString(), "--xds-port", "0", "--registration-port", "0", "--admin-port", "0");

    assertThat(run.exit()).isEqualTo(Main.EXIT_USER_ERROR);
    assertThat(run.err()).isEqualTo("protomatch serve: cannot read tls-cert file '" + dir.resolve("cert.pem")
        + "': no such file" + System.lineSeparator());
  }

  @Test
  void aTlsFileThatIsNotPemIsOneLine() throws IOException {
    Path cert = Files.writeString(dir.resolve("cert.pem"), "not a certificate\n");
    Path key = Files.writeString(dir.resolve("key.pem"), "not a key\n");

    CliRun run = CliRun.of("serve", "--tls-cert", cert.toString(), "--tls-key", key.toString(), "--xds-port", "0",
        "--registration-port", "0", "--admin-port", "0");

    assertThat(run.exit()).isEqualTo(Main.EXIT_USER_ERROR);
    assertThat(run.err()).startsWith("protomatch serve: --tls-cert " + cert + " / --tls-key " + key + ": ");
    assertThat(run.err().lines()).hasSize(1);
    assertThat(logged.list).noneMatch(event -> event.getThrowableProxy() != null);
  }
}
