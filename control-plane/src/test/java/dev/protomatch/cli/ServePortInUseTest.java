package dev.protomatch.cli;

import static org.assertj.core.api.Assertions.assertThat;

import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.read.ListAppender;
import java.io.IOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.slf4j.LoggerFactory;

/**
 * {@code protomatch serve} with any one of its ports taken: one line naming the port, exit code 2, no stack trace
 * logged (the xDS port alone was covered by ServeCommandErrorsTest). A start that wrongly succeeds would block until
 * SIGTERM, hence the timeout.
 */
@Timeout(120)
class ServePortInUseTest {
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

  @ParameterizedTest
  @CsvSource({"--xds-port, xDS", "--registration-port, registration", "--admin-port, admin"})
  void aPortInUseIsOneLine(String option, String port) throws IOException {
    try (ServerSocket taken = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
      int number = taken.getLocalPort();
      List<String> args = new ArrayList<>(List.of("serve"));
      for (String other : List.of("--xds-port", "--registration-port", "--admin-port")) {
        args.add(other);
        args.add(other.equals(option) ? Integer.toString(number) : "0");
      }

      CliRun run = CliRun.of(args.toArray(String[]::new));

      assertThat(run.exit()).isEqualTo(Main.EXIT_USER_ERROR);
      assertThat(run.err()).isEqualTo("protomatch serve: cannot listen on 127.0.0.1:" + number + " (" + port
          + " port): Address already in use (another protomatch running? choose ports with"
          + " --xds-port/--registration-port/--admin-port)" + System.lineSeparator());
      assertThat(run.out()).isEmpty();
      assertThat(logged.list).noneMatch(event -> event.getThrowableProxy() != null);
    }
  }
}
