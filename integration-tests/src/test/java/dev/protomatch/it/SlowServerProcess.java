package dev.protomatch.it;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * A {@link SlowServer} as its own OS process (same JVM binary and class path as the tests), so that
 * {@code kill -9} is real: no shutdown hook, no deregistration, the lease simply stops being renewed.
 */
final class SlowServerProcess implements AutoCloseable {
  private static final Pattern LISTENING = Pattern.compile("listening on [0-9.]+:(\\d+)");

  private final Process process;
  private final int port;

  private SlowServerProcess(Process process, int port) {
    this.process = process;
    this.port = port;
  }

  /** Starts one and waits until it listens and has registered; its stderr goes to {@code log}. */
  static SlowServerProcess start(String instance, int registrationPort, String token, int ttlSeconds, Path log)
      throws IOException {
    ProcessBuilder builder = new ProcessBuilder(List.of(
        ProcessHandle.current().info().command().orElse("java"), "-Xss512k", "-XX:TieredStopAtLevel=1",
        "-cp", System.getProperty("java.class.path"), SlowServer.class.getName(),
        instance, Integer.toString(registrationPort), Integer.toString(ttlSeconds)))
        .redirectError(ProcessBuilder.Redirect.appendTo(log.toFile()));
    builder.environment().put(Fleet.TOKEN_ENV, token);
    Process process = builder.start();
    BufferedReader stdout = new BufferedReader(new InputStreamReader(process.getInputStream(), StandardCharsets.UTF_8));
    String line;
    while ((line = stdout.readLine()) != null) {
      Matcher matcher = LISTENING.matcher(line);
      if (matcher.find()) {
        return new SlowServerProcess(process, Integer.parseInt(matcher.group(1)));
      }
    }
    process.destroyForcibly();
    throw new IOException("slow server " + instance + " did not start (see " + log + ")");
  }

  int port() {
    return port;
  }

  /** {@code kill -9}, and waits until the process is gone. */
  void killForcibly() {
    process.destroyForcibly();
    try {
      process.waitFor();
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }

  @Override
  public void close() {
    killForcibly();
  }
}
