package dev.protomatch.cli;

import ch.qos.logback.classic.LoggerContext;
import ch.qos.logback.classic.encoder.PatternLayoutEncoder;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.Appender;
import ch.qos.logback.core.FileAppender;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * While open, this process's log (the demo's in-process control plane) goes to a file instead of the console,
 * so the terminal shows the demo's story and the file the whole run's log; closing puts the console back.
 * Does nothing when logging is not logback. Opened and closed by one thread (the demo's).
 */
final class DemoLog implements AutoCloseable {
  private static final String PATTERN = "%d{yyyy-MM-dd'T'HH:mm:ss.SSSXXX} %-5level [%logger{0}] %msg%n";

  private final ch.qos.logback.classic.Logger root;
  private final FileAppender<ILoggingEvent> file;
  private final List<Appender<ILoggingEvent>> detached;

  private DemoLog(ch.qos.logback.classic.Logger root, FileAppender<ILoggingEvent> file,
                  List<Appender<ILoggingEvent>> detached) {
    this.root = root;
    this.file = file;
    this.detached = detached;
  }

  /** Appends this process's log to {@code log} (child processes may append to it too) until closed. */
  static DemoLog to(Path log) {
    if (!(LoggerFactory.getILoggerFactory() instanceof LoggerContext context)) {
      return new DemoLog(null, null, List.of());
    }
    ch.qos.logback.classic.Logger root = context.getLogger(Logger.ROOT_LOGGER_NAME);
    PatternLayoutEncoder encoder = new PatternLayoutEncoder();
    encoder.setContext(context);
    encoder.setPattern(PATTERN);
    encoder.start();
    FileAppender<ILoggingEvent> file = new FileAppender<>();
    file.setContext(context);
    file.setName("protomatch-demo-log");
    file.setFile(log.toString());
    file.setAppend(true);
    file.setEncoder(encoder);
    file.start();
    List<Appender<ILoggingEvent>> detached = new ArrayList<>();
    root.iteratorForAppenders().forEachRemaining(detached::add);
    root.addAppender(file);
    detached.forEach(root::detachAppender);
    return new DemoLog(root, file, detached);
  }

  @Override
  public void close() {
    if (root == null) {
      return;
    }
    detached.forEach(root::addAppender);
    root.detachAppender(file);
    file.stop();
  }
}
