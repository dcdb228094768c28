package dev.protomatch.agent;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.read.ListAppender;
import dev.protomatch.api.v1.Endpoint;
import dev.protomatch.api.v1.RegisterRequest;
import io.grpc.Status;
import java.io.IOException;
import java.net.ConnectException;
import java.net.ServerSocket;
import java.time.Duration;
import java.util.List;
import java.util.Optional;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.slf4j.LoggerFactory;

/**
 * An agent whose control plane is unreachable (a closed loopback port) logs each failed attempt as one line: the
 * status code, its description and cause message, and when it will try again; no stack trace.
 */
class RegistrationAgentRetryLogTest {
  private final ListAppender<ILoggingEvent> logged = new ListAppender<>();
  private final Logger logger = (Logger) LoggerFactory.getLogger(RegistrationAgent.class);

  @BeforeEach
  void captureLogs() {
    logged.start();
    logger.addAppender(logged);
  }

  @AfterEach
  void releaseLogs() {
    logger.detachAppender(logged);
  }

  @Test
  void eachRetryIsOneLineWithTheStatusAndWhatComesNext() throws IOException {
    int closedPort;
    try (ServerSocket socket = new ServerSocket(0)) {
      closedPort = socket.getLocalPort();
    }
    String target = "127.0.0.1:" + closedPort;
    try (RegistrationAgent agent = new RegistrationAgent(target, Optional.empty(), RegisterRequest.newBuilder()
        .setEndpoint(Endpoint.newBuilder().setHost("127.0.0.1").setPort(50051)).build())) {
      agent.start();
      // The first attempt, then at least one retry from the renewal schedule.
      await().atMost(Duration.ofSeconds(30)).until(() -> warnings().size() >= 2);
    }

    List<ILoggingEvent> warnings = warnings();
    assertThat(warnings).allSatisfy(event -> {
      assertThat(event.getThrowableProxy()).isNull();
      assertThat(event.getFormattedMessage()).doesNotContain("\n", "\r", "Caused by", "\tat ")
          .startsWith("registration with " + target + " failed: UNAVAILABLE: ")
          .contains("Connection refused")
          .endsWith("; will retry in 1 s");
    });
  }

  @Test
  void aStatusWithAMultiLineCauseIsOneLine() {
    Status status = Status.UNAVAILABLE.withDescription("io exception")
        .withCause(new ConnectException("finishConnect(..) failed: Connection refused:\n /127.0.0.1:1"));

    assertThat(RegistrationAgent.oneLine(status))
        .isEqualTo("UNAVAILABLE: io exception (Connection refused: /127.0.0.1:1)");
  }

  /** The WARN events so far; the appender adds events holding its own lock (AppenderBase.doAppend). */
  private List<ILoggingEvent> warnings() {
    synchronized (logged) {
      return logged.list.stream().filter(event -> event.getLevel() == ch.qos.logback.classic.Level.WARN).toList();
    }
  }
}
