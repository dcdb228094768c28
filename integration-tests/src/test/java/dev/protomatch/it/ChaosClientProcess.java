package dev.protomatch.it;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/**
 * A chaos client (node-client/chaos.js or {@link ChaosJavaClient}) running as its own process: started,
 * awaited until it prints its ready line, stopped by closing its stdin, and read for its report. Its
 * stderr goes to a log file, so no pipe can fill; stdout is read by one thread into {@link #lines}.
 */
final class ChaosClientProcess implements AutoCloseable {
  private final String name;
  private final Process process;
  private final Path log;
  /** Written by the reader thread, read by the test thread: guarded by itself. */
  private final List<String> lines = new ArrayList<>();
  private final Thread reader;

  private ChaosClientProcess(String name, Process process, Path log) {
    this.name = name;
    this.process = process;
    this.log = log;
    this.reader = new Thread(this::readStdout, name + "-stdout");
    reader.setDaemon(true);
    reader.start();
  }

  static ChaosClientProcess start(String name, List<String> command, Path directory, Map<String, String> environment,
                                  Path log) throws IOException {
    ProcessBuilder builder = new ProcessBuilder(command).directory(directory.toFile())
        .redirectError(ProcessBuilder.Redirect.appendTo(log.toFile()));
    builder.environment().putAll(environment);
    return new ChaosClientProcess(name, builder.start(), log);
  }

  private void readStdout() {
    try (BufferedReader out = new BufferedReader(new InputStreamReader(process.getInputStream(), StandardCharsets.UTF_8))) {
      String line;
      while ((line = out.readLine()) != null) {
        synchronized (lines) {
          lines.add(line);
          lines.notifyAll();
        }
      }
    } catch (IOException e) {
      // the process is gone; what it printed is in lines
    }
  }

  long pid() {
    return process.pid();
  }

  /** Waits for the {@code {"ready":true,...}} line the client prints once its first call succeeded. */
  void awaitReady(Duration timeout) throws InterruptedException {
    long deadline = System.nanoTime() + timeout.toNanos();
    synchronized (lines) {
      while (lines.stream().noneMatch(l -> l.contains("\"ready\":true"))) {
        long left = TimeUnit.NANOSECONDS.toMillis(deadline - System.nanoTime());
        if (left <= 0 || (!process.isAlive() && !reader.isAlive())) {
          throw new AssertionError(name + " did not get ready within " + timeout + describe());
        }
        lines.wait(Math.min(left, 200));
      }
    }
  }

  /** Closes stdin: the client finishes its call in flight and prints its counts. */
  void requestStop() throws IOException {
    process.getOutputStream().close();
  }

  /** The report the client printed after {@link #requestStop()}. */
  ClientReport awaitReport(Duration timeout) throws InterruptedException {
    if (!process.waitFor(timeout.toMillis(), TimeUnit.MILLISECONDS)) {
      close();
      throw new AssertionError(name + " did not stop within " + timeout + " of its stdin closing" + describe());
    }
    reader.join(5_000);
    String last;
    synchronized (lines) {
      last = lines.isEmpty() ? "" : lines.get(lines.size() - 1);
    }
    if (process.exitValue() != 0 || !last.contains("\"calls\"")) {
      throw new AssertionError(name + " exited " + process.exitValue() + " without a report" + describe());
    }
    return ClientReport.parse(last);
  }

  private String describe() {
    String stderr;
    try {
      List<String> all = Files.readAllLines(log);
      stderr = String.join("\n", all.subList(Math.max(0, all.size() - 30), all.size()));
    } catch (IOException e) {
      stderr = "(cannot read " + log + ": " + e.getMessage() + ")";
    }
    synchronized (lines) {
      return "\n--- stdout ---\n" + String.join("\n", lines) + "\n--- " + log + " (last lines) ---\n" + stderr;
    }
  }

  @Override
  public void close() {
    if (process.isAlive()) {
      process.destroyForcibly();
      try {
        process.waitFor(10, TimeUnit.SECONDS);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
    }
  }
}
