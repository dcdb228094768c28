package dev.protomatch.testing;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.UUID;
import java.util.concurrent.TimeUnit;
import java.util.stream.Collectors;
import java.util.stream.Stream;

/**
 * Real etcd servers ({@code /usr/bin/etcd}, Debian's etcd-server, installed in CI by
 * {@code integration-tests/install-test-tools.sh}) on free loopback ports, each member with a data directory
 * under one temporary directory. One member alone or a cluster of several; members can be stopped
 * (SIGTERM), killed ({@code kill -9}) and started again on the same ports and data. {@link #close()} kills
 * what runs and deletes the data; a JVM shutdown hook does the same if a test run dies first.
 *
 * <p>{@link #startSingleTls()} serves clients over TLS with a certificate for IP 127.0.0.1 signed by a CA
 * made for the run ({@code openssl} on the PATH makes both).
 */
public final class EtcdProcess implements AutoCloseable {
  public static final Path ETCD = Path.of("/usr/bin/etcd");
  private static final Duration START_TIMEOUT = Duration.ofSeconds(30);

  private final Path root;
  private final List<Member> members;
  private final boolean tls;
  private final Thread shutdownHook;
  private HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(1)).build();

  private static final class Member {
    final String name;
    final int clientPort;
    final int peerPort;
    final Path dataDir;
    final Path log;
    Process process;

    Member(String name, int clientPort, int peerPort, Path dataDir, Path log) {
      this.name = name;
      this.clientPort = clientPort;
      this.peerPort = peerPort;
      this.dataDir = dataDir;
      this.log = log;
    }
  }

  private EtcdProcess(Path root, List<Member> members, boolean tls) {
    this.root = root;
    this.members = members;
    this.tls = tls;
    this.shutdownHook = new Thread(this::destroyAll, "etcd-process-cleanup");
    Runtime.getRuntime().addShutdownHook(shutdownHook);
  }

  /** Starts one etcd member and waits until it is healthy. */
  public static EtcdProcess startSingle() {
    return start(1, false);
  }

  /** Starts one etcd member serving clients over TLS (see {@link #caFile()}) and waits until it is healthy. */
  public static EtcdProcess startSingleTls() {
    return start(1, true);
  }

  /** Starts a cluster of {@code size} members and waits until every member is healthy. */
  public static EtcdProcess startCluster(int size) {
    return start(size, false);
  }

  private static EtcdProcess start(int size, boolean tls) {
    if (!Files.isExecutable(ETCD)) {
      throw new IllegalStateException(ETCD + " is missing: run integration-tests/install-test-tools.sh "
          + "(installs Debian's etcd-server)");
    }
    Path root;
    try {
      root = Files.createTempDirectory("protomatch-etcd-");
    } catch (IOException e) {
      throw new UncheckedIOException("cannot create a temporary directory for etcd", e);
    }
    List<Member> members = new ArrayList<>();
    List<Integer> ports = freePorts(2 * size);
    for (int i = 0; i < size; i++) {
      members.add(new Member("m" + i, ports.get(2 * i), ports.get(2 * i + 1), root.resolve("m" + i),
          root.resolve("m" + i + ".log")));
    }
    EtcdProcess etcd = new EtcdProcess(root, members, tls);
    try {
      if (tls) {
        etcd.makeCertificates();
      }
      String token = "protomatch-test-" + UUID.randomUUID();
      for (int i = 0; i < size; i++) {
        etcd.launch(i, token);
      }
      for (int i = 0; i < size; i++) {
        etcd.awaitHealthy(i);
      }
    } catch (RuntimeException e) {
      etcd.close();
      throw e;
    }
    return etcd;
  }

  public int size() {
    return members.size();
  }

  /** The registry URL naming every member: {@code etcd://127.0.0.1:p0,127.0.0.1:p1,...}. */
  public String url() {
    return (tls ? "etcds://" : "etcd://")
        + members.stream().map(m -> "127.0.0.1:" + m.clientPort).collect(Collectors.joining(","))
        + (tls ? "?ca=" + caFile() : "");
  }

  /** The registry URL naming one member only. */
  public String url(int member) {
    return (tls ? "etcds://" : "etcd://") + "127.0.0.1:" + members.get(member).clientPort
        + (tls ? "?ca=" + caFile() : "");
  }

  /** The PEM file of the CA that signed the members' certificates (TLS only). */
  public Path caFile() {
    return root.resolve("ca.pem");
  }

  public int clientPort(int member) {
    return members.get(member).clientPort;
  }

  public boolean isRunning(int member) {
    Process process = members.get(member).process;
    return process != null && process.isAlive();
  }

  /** SIGTERM, then waits for the process to exit. */
  public void stop(int member) {
    end(member, false);
  }

  /** {@code kill -9}, then waits for the process to exit. */
  public void kill(int member) {
    end(member, true);
  }

  /** Starts a stopped member again on its ports and data, and waits until it is healthy. */
  public void restart(int member) {
    if (isRunning(member)) {
      throw new IllegalStateException(members.get(member).name + " is still running");
    }
    launch(member, "unused-on-restart"); // an existing data directory makes etcd ignore the initial-cluster flags
    awaitHealthy(member);
  }

  /** Waits until the member answers {@code /health} with {@code "health":"true"} (it has a leader). */
  public void awaitHealthy(int member) {
    Member m = members.get(member);
    long deadline = System.nanoTime() + START_TIMEOUT.toNanos();
    HttpRequest request = HttpRequest.newBuilder(
            URI.create((tls ? "https" : "http") + "://127.0.0.1:" + m.clientPort + "/health"))
        .timeout(Duration.ofSeconds(2)).build();
    while (System.nanoTime() < deadline) {
      if (!m.process.isAlive()) {
        throw new IllegalStateException("etcd " + m.name + " exited with " + m.process.exitValue() + ":\n" + logTail(m));
      }
      try {
        HttpResponse<String> response = http.send(request, HttpResponse.BodyHandlers.ofString());
        if (response.statusCode() == 200 && response.body().replace(" ", "").contains("\"health\":\"true\"")) {
          return;
        }
      } catch (IOException e) {
        // not listening yet
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        throw new IllegalStateException("interrupted while waiting for etcd", e);
      }
      sleep(50);
    }
    throw new IllegalStateException("etcd " + m.name + " not healthy within " + START_TIMEOUT + ":\n" + logTail(m));
  }

  @Override
  public void close() {
    destroyAll();
    try {
      Runtime.getRuntime().removeShutdownHook(shutdownHook);
    } catch (IllegalStateException e) {
      // already shutting down
    }
    deleteRecursively(root);
  }

  private void launch(int index, String token) {
    Member m = members.get(index);
    String initialCluster = members.stream().map(o -> o.name + "=http://127.0.0.1:" + o.peerPort)
        .collect(Collectors.joining(","));
    String clientScheme = tls ? "https" : "http";
    List<String> command = new ArrayList<>(List.of(ETCD.toString(),
        "--name", m.name,
        "--data-dir", m.dataDir.toString(),
        "--listen-client-urls", clientScheme + "://127.0.0.1:" + m.clientPort,
        "--advertise-client-urls", clientScheme + "://127.0.0.1:" + m.clientPort,
        "--listen-peer-urls", "http://127.0.0.1:" + m.peerPort,
        "--initial-advertise-peer-urls", "http://127.0.0.1:" + m.peerPort,
        "--initial-cluster", initialCluster,
        "--initial-cluster-state", "new",
        "--initial-cluster-token", token));
    if (tls) {
      command.addAll(List.of("--cert-file", root.resolve("server.pem").toString(),
          "--key-file", root.resolve("server.key").toString()));
    }
    try {
      m.process = new ProcessBuilder(command)
          .redirectErrorStream(true)
          .redirectOutput(ProcessBuilder.Redirect.appendTo(m.log.toFile()))
          .start();
    } catch (IOException e) {
      throw new UncheckedIOException("cannot start " + ETCD, e);
    }
  }

  private void end(int index, boolean forcibly) {
    Member m = members.get(index);
    if (m.process == null) {
      return;
    }
    if (forcibly) {
      m.process.destroyForcibly();
    } else {
      m.process.destroy();
    }
    try {
      if (!m.process.waitFor(10, TimeUnit.SECONDS)) {
        m.process.destroyForcibly();
        m.process.waitFor(10, TimeUnit.SECONDS);
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }

  private void destroyAll() {
    for (Member m : members) {
      if (m.process != null && m.process.isAlive()) {
        m.process.destroyForcibly();
        try {
          m.process.waitFor(10, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
          Thread.currentThread().interrupt();
        }
      }
    }
  }

  /** A CA and a server certificate for IP 127.0.0.1 it signed; an HTTP client trusting that CA for /health. */
  private void makeCertificates() {
    try {
      Files.writeString(root.resolve("san.cnf"), "subjectAltName=IP:127.0.0.1\n");
      openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", "/CN=protomatch-test-ca",
          "-keyout", "ca.key", "-out", "ca.pem");
      openssl("req", "-newkey", "rsa:2048", "-nodes", "-subj", "/CN=127.0.0.1",
          "-keyout", "server.key", "-out", "server.csr");
      openssl("x509", "-req", "-in", "server.csr", "-CA", "ca.pem", "-CAkey", "ca.key", "-CAcreateserial",
          "-days", "2", "-extfile", "san.cnf", "-out", "server.pem");
      java.security.KeyStore trust = java.security.KeyStore.getInstance(java.security.KeyStore.getDefaultType());
      trust.load(null, null);
      try (var in = Files.newInputStream(caFile())) {
        trust.setCertificateEntry("ca",
            java.security.cert.CertificateFactory.getInstance("X.509").generateCertificate(in));
      }
      javax.net.ssl.TrustManagerFactory trustManagers =
          javax.net.ssl.TrustManagerFactory.getInstance(javax.net.ssl.TrustManagerFactory.getDefaultAlgorithm());
      trustManagers.init(trust);
      javax.net.ssl.SSLContext ssl = javax.net.ssl.SSLContext.getInstance("TLS");
      ssl.init(null, trustManagers.getTrustManagers(), null);
      http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(1)).sslContext(ssl).build();
    } catch (IOException e) {
      throw new UncheckedIOException("cannot make test certificates", e);
    } catch (java.security.GeneralSecurityException e) {
      throw new IllegalStateException("cannot load the test CA", e);
    }
  }

  private void openssl(String... arguments) throws IOException {
    TestPki.openssl(root, arguments);
  }

  private static String logTail(Member m) {
    try {
      List<String> lines = Files.readAllLines(m.log);
      return String.join("\n", lines.subList(Math.max(0, lines.size() - 20), lines.size()));
    } catch (IOException e) {
      return "(no log: " + e.getMessage() + ")";
    }
  }

  private static List<Integer> freePorts(int count) {
    List<ServerSocket> sockets = new ArrayList<>();
    try {
      for (int i = 0; i < count; i++) {
        sockets.add(new ServerSocket(0, 1, InetAddress.getLoopbackAddress()));
      }
      return sockets.stream().map(ServerSocket::getLocalPort).toList();
    } catch (IOException e) {
      throw new UncheckedIOException("cannot find free loopback ports", e);
    } finally {
      for (ServerSocket socket : sockets) {
        try {
          socket.close();
        } catch (IOException e) {
          // ignore
        }
      }
    }
  }

  private static void deleteRecursively(Path path) {
    if (!Files.exists(path)) {
      return;
    }
    try (Stream<Path> walk = Files.walk(path)) {
      walk.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
    } catch (IOException e) {
      // best effort: a temporary directory
    }
  }

  private static void sleep(long millis) {
    try {
      Thread.sleep(millis);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }
}
