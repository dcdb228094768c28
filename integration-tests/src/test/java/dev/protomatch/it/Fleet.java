package dev.protomatch.it;

import dev.protomatch.decision.ServiceDecision;
import dev.protomatch.demo.ProtomatchProcess;
import dev.protomatch.server.ControlPlane;
import dev.protomatch.server.ControlPlaneOptions;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.UUID;
import java.util.function.Predicate;

/**
 * The field scenario's moving parts for one test class: a control plane on loopback (in this JVM, on
 * ephemeral ports, or on fixed ports so it can be restarted in place) and demo.Greeter instances as real
 * processes that register themselves, renew their leases, and can be killed with SIGKILL.
 */
public final class Fleet implements AutoCloseable {
  public static final String TOKEN_ENV = "PROTOMATCH_IT_TOKEN";
  /** Short leases and fast probes, so tests see processes come and go within seconds. */
  private static final String SETTINGS = """
      settings:
        auth:
          token-env: %s
        lease:
          default-ttl: 3s
          min-ttl: 1s
        probe:
          interval: 2s
          timeout: 2s
      """.formatted(TOKEN_ENV);

  public static final String POLICY = policy("demo.Greeter", "demo-greeter",
      "expect:\n      methods: [SayHello, SayHelloAgain]");

  /**
   * The fleet's settings and one service entry: {@code keys} are written at the entry's indentation (4
   * spaces), e.g. {@code "expect: newest"} or {@code "expect:\n      api: sha256:..."}.
   */
  public static String policy(String service, String cluster, String... keys) {
    StringBuilder yaml = new StringBuilder(SETTINGS).append("services:\n  - service: ").append(service)
        .append("\n    cluster: ").append(cluster).append('\n');
    for (String key : keys) {
      yaml.append("    ").append(key).append('\n');
    }
    return yaml.toString();
  }

  private final Path work;
  private final String token = UUID.randomUUID().toString();
  private final String adminToken = UUID.randomUUID().toString();
  private final Path policyFile;
  private final List<ProtomatchProcess> greeters = new ArrayList<>();
  private ControlPlane controlPlane;
  private ControlPlaneOptions options;

  private Fleet(Path work, String policy) throws IOException {
    this.work = work;
    this.policyFile = Files.writeString(work.resolve("policies.yaml"), policy);
  }

  /** A fleet whose control plane listens on ephemeral ports. */
  public static Fleet start(String policy) throws Exception {
    Fleet fleet = new Fleet(Files.createTempDirectory("protomatch-it-"), policy);
    fleet.options = ControlPlaneOptions.loopbackDefaults(Optional.of(fleet.policyFile)).withPorts(0, 0, 0);
    fleet.startControlPlane();
    // Pin the ports chosen now, so a restart comes back where clients and agents expect it.
    fleet.options = fleet.options.withPorts(fleet.controlPlane.xdsPort(), fleet.controlPlane.registrationPort(),
        fleet.controlPlane.adminPort());
    return fleet;
  }

  public static Fleet start() throws Exception {
    return start(POLICY);
  }

  private void startControlPlane() throws Exception {
    controlPlane = ControlPlane.start(options, Clock.systemUTC(), name -> name.equals(TOKEN_ENV) ? token
        : name.equals(ControlPlane.ADMIN_TOKEN_ENV) ? adminToken : System.getenv(name));
  }

  public ControlPlane controlPlane() {
    return controlPlane;
  }

  /** Stops the control plane (gracefully) without touching greeters or clients. */
  public void stopControlPlane() {
    controlPlane.close();
    controlPlane = null;
  }

  /**
   * Starts the control plane again on the same ports with an empty registry and the production warm-up
   * (one lease TTL before the first push), as {@code protomatch serve} would.
   */
  public void restartControlPlane() throws Exception {
    options = options.withWarmup(Optional.empty());
    startControlPlane();
  }

  /** A registered demo.Greeter process of build {@code v1}, {@code v2}, {@code v2x} or {@code v3} (DemoGreeters). */
  public ProtomatchProcess startGreeter(String build, String instance) throws IOException {
    return startGreeter(build, instance, 0);
  }

  /** The same on a given port (0: any free port). */
  public ProtomatchProcess startGreeter(String build, String instance, int port) throws IOException {
    ProtomatchProcess greeter = ProtomatchProcess.startServer(List.of("greeter", "--build", build, "--instance", instance,
            "--port", Integer.toString(port), "--register", "127.0.0.1:" + options.registrationPort(),
            "--token-env", TOKEN_ENV, "--ttl-seconds", "3"),
        Map.of(TOKEN_ENV, token), log(), Duration.ofSeconds(60));
    greeters.add(greeter);
    return greeter;
  }

  /** Recomputes the decision until {@code condition} holds (or the timeout passes) and returns it. */
  public ServiceDecision awaitGreeterDecision(Predicate<ServiceDecision> condition, Duration timeout)
      throws InterruptedException {
    long deadline = System.nanoTime() + timeout.toNanos();
    ServiceDecision decision;
    do {
      decision = controlPlane.updater().updateNow().services().get("demo.Greeter");
      if (condition.test(decision)) {
        return decision;
      }
      Thread.sleep(50);
    } while (System.nanoTime() < deadline);
    throw new AssertionError("decision did not reach the expected state within " + timeout + ": " + decision);
  }

  /**
   * Replaces the policy file (atomically) and waits until the control plane's watcher has applied exactly
   * this content (the applied policy's SHA-256 is that of the file's bytes).
   */
  public void applyPolicy(String policy, Duration timeout) throws IOException, InterruptedException {
    byte[] content = policy.getBytes(StandardCharsets.UTF_8);
    Path next = Files.write(work.resolve("policies.yaml.next"), content);
    Files.move(next, policyFile, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
    String sha256;
    try {
      sha256 = HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(content));
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException("every Java platform must provide SHA-256", e);
    }
    long deadline = System.nanoTime() + timeout.toNanos();
    while (!controlPlane.policies().current().sha256().equals(sha256)) {
      if (System.nanoTime() > deadline) {
        throw new AssertionError("policy not applied within " + timeout + "; last outcome: "
            + controlPlane.policies().lastOutcome());
      }
      Thread.sleep(50);
    }
  }

  /** The token registrations must carry (the control plane reads it from {@link #TOKEN_ENV}). */
  public String registrationToken() {
    return token;
  }

  public int registrationPort() {
    return options.registrationPort();
  }

  /** The token {@code POST} admin calls need (the control plane read it from PROTOMATCH_ADMIN_TOKEN). */
  public String adminToken() {
    return adminToken;
  }

  public Path policyFile() {
    return policyFile;
  }

  public int xdsPort() {
    return options.xdsPort();
  }

  /** A gRPC xDS bootstrap file (as GRPC_XDS_BOOTSTRAP reads) pointing at this control plane. */
  public Path bootstrapFile(String nodeId) throws IOException {
    return Files.writeString(work.resolve("bootstrap-" + nodeId + ".json"), """
        {"xds_servers": [{"server_uri": "127.0.0.1:%d", "channel_creds": [{"type": "insecure"}],
          "server_features": ["xds_v3"]}],
         "node": {"id": "%s", "cluster": "protomatch-it", "locality": {}}}
        """.formatted(options.xdsPort(), nodeId));
  }

  public Path log() {
    return work.resolve("processes.log");
  }

  public Path workDirectory() {
    return work;
  }

  @Override
  public void close() {
    greeters.forEach(ProtomatchProcess::close);
    if (controlPlane != null) {
      controlPlane.close();
    }
  }
}
