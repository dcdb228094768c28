package dev.protomatch.cli;

import static org.assertj.core.api.Assertions.assertThat;

import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.read.ListAppender;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.slf4j.LoggerFactory;

/** While a {@link DemoLog} is open the process's log goes to its file only; closing restores the appenders. */
class DemoLogTest {
  @TempDir
  Path dir;

  @Test
  void logsGoToTheFileWhileOpenAndBackAfterwards() throws IOException {
    Logger root = (Logger) LoggerFactory.getLogger(org.slf4j.Logger.ROOT_LOGGER_NAME);
    ListAppender<ILoggingEvent> console = new ListAppender<>();
    console.start();
    root.addAppender(console);
    org.slf4j.Logger log = LoggerFactory.getLogger(DemoLogTest.class);
    Path file = dir.resolve("demo.log");
    try {
      try (DemoLog demo = DemoLog.to(file)) {
        log.info("during the demo");
      }
      log.info("after the demo");

      assertThat(Files.readString(file)).contains("INFO  [DemoLogTest] during the demo").doesNotContain("after");
      assertThat(console.list).extracting(ILoggingEvent::getFormattedMessage).containsExactly("after the demo");
    } finally {
      root.detachAppender(console);
    }
  }
}
