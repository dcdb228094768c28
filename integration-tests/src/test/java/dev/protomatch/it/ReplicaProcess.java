package dev.protomatch.it;

import dev.protomatch.demo.ProtomatchProcess;
import java.io.IOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * One protomatch replica as an operator runs it: {@code protomatch serve --registry etcd://... --replica-id
 * NAME} in its own OS process (default warm-up), on ports fixed when this object is made, so that it can be
 * killed with SIGKILL and started again where clients and agents expect it. Its logs go to {@code log}.
 * Used by one test thread.
 */
final class ReplicaProcess implements AutoCloseable {
  private static final HttpClient HTTP = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(1)).build();

  private final String id;
  private final String registry;
  private final Path policy;
  private final Path log;
  private final int xdsPort;
  private final int registrationPort;
  private final int adminPort;
  private ProtomatchProcess process;
  private long startedNanos;
  private Instant startedAt;
  private long logOffset;

  ReplicaProcess(String id, String registry, Path policy, Path log) throws IOException {
    this.id = id;
    this.registry = registry;
    this.policy = policy;
    this.log = log;
    List<Integer> ports = freePorts(3);
    this.xdsPort = ports.get(0);
    this.registrationPort = ports.get(1);
    this.adminPort = ports.get(2);
  }

  /** Launches the process (does not wait); {@link #awaitReady} measures from here. */
  void start() throws IOException {
    if (process != null && process.isAlive()) {
      throw new IllegalStateException("replica " + id + " is still running");
    }
    logOffset = Files.exists(log) ? Files.size(log) : 0;
    startedAt = Instant.now();
    startedNanos = System.nanoTime();
    process = ProtomatchProcess.start(List.of("serve", "--config", policy.toString(), "--registry", registry,
        "--replica-id", id, "--xds-port", Integer.toString(xdsPort), "--registration-port",
        Integer.toString(registrationPort), "--admin-port", Integer.toString(adminPort)), Map.of(), log);
  }

  /**
   * Polls {@code /readyz} every 20 ms until it answers 200 (policy loaded, first snapshot published, etcd
   * usable) and returns the time since {@link #start()}.
   */
  Duration awaitReady(Duration timeout) throws InterruptedException {
    long deadline = System.nanoTime() + timeout.toNanos();
    String last = "(no answer)";
    while (System.nanoTime() < deadline) {
      if (!process.isAlive()) {
        throw new AssertionError("replica " + id + " exited with " + process.exitValue() + " (see " + log + ")");
      }
      last = readyz();
      if (last.startsWith("200")) {
        return Duration.ofNanos(System.nanoTime() - startedNanos);
      }
      Thread.sleep(20);
    }
    throw new AssertionError("replica " + id + " not ready within " + timeout + ": " + last + " (see " + log + ")");
  }

  /**
   * When this run of the process logged a line containing {@code fragment}, as milliseconds after
   * {@link #start()} (the log's ISO timestamps against this JVM's wall clock), or -1 if it did not.
   */
  long loggedAfterStart(String fragment) throws IOException {
    for (String line : currentRunLog()) {
      if (line.contains(fragment)) {
        try {
          return Duration.between(startedAt, Instant.parse(line.substring(0, line.indexOf(' ')))).toMillis();
        } catch (RuntimeException e) {
          return -1;
        }
      }
    }
    return -1;
  }

  /** The last line this run of the process logged containing {@code fragment}, or "" if none. */
  String lastLogged(String fragment) throws IOException {
    String last = "";
    for (String line : currentRunLog()) {
      if (line.contains(fragment)) {
        last = line;
      }
    }
    return last;
  }

  private List<String> currentRunLog() throws IOException {
    byte[] all = Files.readAllBytes(log);
    int from = (int) Math.min(logOffset, all.length);
    return List.of(new String(all, from, all.length - from, StandardCharsets.UTF_8).split("\n"));
  }

  /** {@code /readyz} as "STATUS body", or "down: ..." if the admin port does not answer. */
  String readyz() throws InterruptedException {
    try {
      HttpResponse<String> response = HTTP.send(HttpRequest.newBuilder(
              URI.create("http://127.0.0.1:" + adminPort + "/readyz")).timeout(Duration.ofSeconds(2)).build(),
          HttpResponse.BodyHandlers.ofString());
      return response.statusCode() + " " + response.body().strip();
    } catch (IOException e) {
      return "down: " + e;
    }
  }

  /** {@code kill -9}: no shutdown hook runs. */
  void kill() {
    process.killForcibly();
  }

  String id() {
    return id;
  }

  int xdsPort() {
    return xdsPort;
  }

  int registrationPort() {
    return registrationPort;
  }

  @Override
  public void close() {
    if (process != null) {
      process.close();
    }
  }

  private static List<Integer> freePorts(int count) throws IOException {
    List<ServerSocket> sockets = new ArrayList<>();
    try {
      for (int i = 0; i < count; i++) {
        sockets.add(new ServerSocket(0, 1, InetAddress.getLoopbackAddress()));
      }
      return sockets.stream().map(ServerSocket::getLocalPort).toList();
    } finally {
      for (ServerSocket socket : sockets) {
        socket.close();
      }
    }
  }
}
