package dev.protomatch.demo;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * A {@code protomatch} subcommand running as a separate OS process (same JVM binary, same class path), as
 * an operator would run it: the demo and the integration tests start greeters and clients this way so that
 * {@code kill -9} and restarts are real.
 */
public final class ProtomatchProcess implements AutoCloseable {
  private static final Pattern LISTENING = Pattern.compile("listening on ([0-9.]+):(\\d+)");

  private final Process process;
  private final BufferedReader stdout;
  private final int port;

  private ProtomatchProcess(Process process, BufferedReader stdout, int port) {
    this.process = process;
    this.stdout = stdout;
    this.port = port;
  }

  /** Starts {@code protomatch <args>}; stderr (logs) goes to {@code log}. */
  public static ProtomatchProcess start(List<String> args, Map<String, String> environment, Path log) throws IOException {
    List<String> command = new ArrayList<>();
    command.add(ProcessHandle.current().info().command().orElse("java"));
    command.add("-Xss512k");
    command.add("-XX:TieredStopAtLevel=1");
    command.add("-cp");
    command.add(System.getProperty("java.class.path"));
    command.add("dev.protomatch.cli.Main");
    command.addAll(args);
    ProcessBuilder builder = new ProcessBuilder(command).redirectError(ProcessBuilder.Redirect.appendTo(log.toFile()));
    builder.environment().putAll(environment);
    Process process = builder.start();
    return new ProtomatchProcess(process,
        new BufferedReader(new InputStreamReader(process.getInputStream(), StandardCharsets.UTF_8)), -1);
  }

  /** Starts a server subcommand and waits until it prints {@code listening on HOST:PORT}. */
  public static ProtomatchProcess startServer(List<String> args, Map<String, String> environment, Path log,
                                              Duration timeout) throws IOException {
    ProtomatchProcess started = start(args, environment, log);
    long deadline = System.nanoTime() + timeout.toNanos();
    String line;
    while ((line = started.stdout.readLine()) != null) {
      Matcher matcher = LISTENING.matcher(line);
      if (matcher.find()) {
        return new ProtomatchProcess(started.process, started.stdout, Integer.parseInt(matcher.group(2)));
      }
      if (System.nanoTime() > deadline) {
        break;
      }
    }
    started.killForcibly();
    throw new IOException("protomatch " + String.join(" ", args) + " did not start (see " + log + ")");
  }

  public int port() {
    return port;
  }

  public long pid() {
    return process.pid();
  }

  /** Everything the process printed on stdout until it exited. */
  public String awaitOutput(Duration timeout) throws IOException, InterruptedException {
    StringBuilder out = new StringBuilder();
    String line;
    while ((line = stdout.readLine()) != null) {
      out.append(line).append('\n');
    }
    if (!process.waitFor(timeout.toMillis(), TimeUnit.MILLISECONDS)) {
      killForcibly();
    }
    return out.toString();
  }

  /** {@code kill -9}: no shutdown hook runs, nothing is deregistered. */
  public void killForcibly() {
    process.destroyForcibly();
    try {
      process.waitFor(10, TimeUnit.SECONDS);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }

  /** SIGTERM: shutdown hooks run (a registered greeter deregisters). */
  public void terminate(Duration timeout) throws InterruptedException {
    process.destroy();
    if (!process.waitFor(timeout.toMillis(), TimeUnit.MILLISECONDS)) {
      killForcibly();
    }
  }

  public boolean isAlive() {
    return process.isAlive();
  }

  public int exitValue() {
    return process.exitValue();
  }

  @Override
  public void close() {
    if (process.isAlive()) {
      killForcibly();
    }
  }
}
