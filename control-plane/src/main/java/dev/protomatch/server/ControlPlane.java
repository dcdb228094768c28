package dev.protomatch.server;

import dev.protomatch.admin.AdminApi;
import dev.protomatch.admin.AdminServer;
import dev.protomatch.admin.DecisionChangeLog;
import dev.protomatch.admin.MetricsHandler;
import dev.protomatch.admin.ProtomatchMetrics;
import dev.protomatch.admin.ReplicaFacts;
import dev.protomatch.descriptor.DescriptorHasher;
import dev.protomatch.policy.AppliedPolicy;
import dev.protomatch.policy.PolicyError;
import dev.protomatch.policy.PolicyFileWatcher;
import dev.protomatch.policy.PolicyParser;
import dev.protomatch.policy.PolicyStore;
import dev.protomatch.policy.ReloadOutcome;
import dev.protomatch.policy.ServicePolicy;
import dev.protomatch.probe.ReflectionProber;
import dev.protomatch.registration.BearerTokenInterceptor;
import dev.protomatch.registration.RegistrationService;
import dev.protomatch.registry.EndpointRegistry;
import dev.protomatch.registry.EtcdEndpointRegistry;
import dev.protomatch.registry.ProbeLeadership;
import dev.protomatch.registry.InMemoryEndpointRegistry;
import dev.protomatch.registry.LeaseSweeper;
import dev.protomatch.registry.ReplicaDirectory;
import dev.protomatch.registry.ReplicaRecord;
import dev.protomatch.staticendpoints.HostResolver;
import dev.protomatch.staticendpoints.StaticEndpointResolver;
import dev.protomatch.xds.NodeKind;
import dev.protomatch.xds.SnapshotBuilder;
import dev.protomatch.xds.SnapshotPublisher;
import dev.protomatch.xds.XdsClientTracker;
import dev.protomatch.xds.XdsServer;
import io.envoyproxy.controlplane.cache.v3.SimpleCache;
import io.grpc.InsecureServerCredentials;
import io.grpc.Server;
import io.grpc.ServerCredentials;
import io.grpc.ServerInterceptors;
import io.grpc.TlsServerCredentials;
import io.grpc.netty.shaded.io.grpc.netty.NettyServerBuilder;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.function.Function;
import java.util.function.Supplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One running control plane: the pipeline registrations/probes/static config -> registry -> decision ->
 * snapshot -> xDS clients, plus the registration and admin ports. Everything is wired here and nowhere
 * else.
 *
 * <p>Each start step owns what it starts ({@link StartedComponents}); a failed start stops what it started,
 * newest first, and shutdown is the same walk back: registrations stop first, then xDS streams are given a
 * moment to finish, then decisions and probes. Nothing is deregistered and no empty assignment is pushed, so
 * clients keep their last configuration and carry on until a control plane is back.
 */
public final class ControlPlane implements AutoCloseable {
  private static final Logger log = LoggerFactory.getLogger(ControlPlane.class);

  /** Environment variable holding the admin token that state-changing admin calls need. */
  public static final String ADMIN_TOKEN_ENV = "PROTOMATCH_ADMIN_TOKEN";

  private final ScheduledExecutorService scheduler;
  private final PolicyStore policies;
  private final EndpointRegistry registry;
  private final XdsClientTracker clients;
  private final RoutingUpdater updater;
  private final SnapshotPublisher publisher;
  private final SimpleCache<String> cache;
  private final ReflectionProber prober;
  private final PolicyFileWatcher watcher;
  private final XdsServer xds;
  private final Server registration;
  private final AdminServer admin;
  private final ProtomatchMetrics metrics;

  private final StartedComponents started;
  private final Readiness readiness;

  private ControlPlane(Builder b) {
    this.scheduler = b.scheduler;
    this.policies = b.policies;
    this.registry = b.registry;
    this.clients = b.clients;
    this.updater = b.updater;
    this.publisher = b.publisher;
    this.cache = b.cache;
    this.prober = b.prober;
    this.watcher = b.watcher;
    this.xds = b.xds;
    this.registration = b.registration;
    this.admin = b.admin;
    this.metrics = b.metrics;
    this.started = b.started;
    this.readiness = b.readiness;
  }

  /** Refused start: the policy file is invalid; whatever was started is stopped again. */
  public static final class InvalidPolicyException extends Exception {
    private static final long serialVersionUID = 1L;
    private final List<PolicyError> errors;

    InvalidPolicyException(List<PolicyError> errors) {
      super(errors.size() + " error(s) in the policy file", null, false, false);
      this.errors = List.copyOf(errors);
    }

    public List<PolicyError> errors() {
      return errors;
    }
  }

  /** The components of one start, filled in by the steps below in order; each is owned by {@link #started}. */
  private static final class Builder {
    final StartedComponents started = new StartedComponents();
    Readiness readiness;
    ScheduledExecutorService scheduler;
    PolicyStore policies;
    EndpointRegistry registry;
    XdsClientTracker clients;
    RoutingUpdater updater;
    SnapshotPublisher publisher;
    SimpleCache<String> cache;
    ReflectionProber prober;
    LeaseSweeper sweeper;
    /** Only with a registry in etcd: which replica probes. */
    ProbeLeadership probeLeadership;
    /** Only with a registry in etcd. */
    EtcdEndpointRegistry etcd;
    /** Only with a registry in etcd: the other replicas and the policy each runs. */
    ReplicaDirectory replicas;
    Instant startedAt;
    StaticEndpointResolver statics;
    PolicyFileWatcher watcher;
    XdsServer xds;
    Server registration;
    AdminServer admin;
    ProtomatchMetrics metrics;
    DescriptorHasher hasher = new DescriptorHasher();
  }

  /**
   * Starts every component, each step owning what it starts; if a step fails (a port in use, an invalid policy
   * file), everything already started is stopped again, newest first, before the failure is thrown.
   */
  public static ControlPlane start(ControlPlaneOptions options, Clock clock, Function<String, String> environment)
      throws IOException, InvalidPolicyException {
    Builder b = new Builder();
    b.startedAt = clock.instant();
    try {
      startScheduler(b);
      startAdmin(b, options);
      loadPolicies(b, options, clock, environment);
      openRegistry(b, options, clock);
      startPipeline(b, options, clock);
      startServers(b, options, environment);
      joinReplicas(b, options);
      ControlPlane controlPlane = new ControlPlane(b);
      installAdminViews(b, options, environment, clock);
      startWork(b);
      firstPublication(b, options, clock);
      logStarted(b, options, environment);
      return controlPlane;
    } catch (IOException | InvalidPolicyException | RuntimeException | Error e) {
      log.debug("start failed; stopping {}", b.started.names());
      b.started.close();
      throw e;
    }
  }

  private static void startScheduler(Builder b) {
    b.scheduler = Executors.newScheduledThreadPool(2, runnable -> {
      Thread thread = new Thread(runnable, "protomatch-control");
      thread.setDaemon(true);
      return thread;
    });
    b.started.addStop("scheduler", () -> b.scheduler.shutdownNow());
  }

  /** First, so /readyz answers (503) while the rest starts; the views are installed once they exist. */
  private static void startAdmin(Builder b, ControlPlaneOptions options) throws IOException {
    b.readiness = new Readiness();
    InetSocketAddress address = new InetSocketAddress(options.adminBindHost(), options.adminPort());
    b.admin = b.started.add("admin server", listen("admin", address,
        () -> AdminServer.start(address, b.readiness::notReadyBecause)));
    if (!new InetSocketAddress(options.adminBindHost(), 0).getAddress().isLoopbackAddress()) {
      log.warn("admin port bound to {} (not loopback): every endpoint, client and policy is visible there",
          options.adminBindHost());
    }
  }

  private static void loadPolicies(Builder b, ControlPlaneOptions options, Clock clock,
                                   Function<String, String> environment) throws InvalidPolicyException {
    b.policies = new PolicyStore(clock);
    b.clients = new XdsClientTracker(clock);
    b.metrics = new ProtomatchMetrics(b.clients::clients);
    b.policies.addOutcomeListener(b.metrics::policyReloaded); // before the first load, which counts too
    if (options.policyFile().isPresent()) {
      b.watcher = b.started.add("policy file watcher", new PolicyFileWatcher(options.policyFile().get(),
          new PolicyParser(environment, java.nio.file.Files::isReadable), b.policies, b.scheduler,
          options.policyPollInterval()));
      ReloadOutcome first = b.watcher.start();
      if (!first.accepted()) {
        throw new InvalidPolicyException(first.errors());
      }
    }
  }

  /**
   * The in-memory registry (with its lease sweeper), or the etcd registry shared with other replicas (etcd expires
   * leases; one replica at a time probes). Connecting to etcd reads its whole state before going on.
   */
  private static void openRegistry(Builder b, ControlPlaneOptions options, Clock clock) {
    if (options.etcd().isPresent()) {
      b.etcd = b.started.add("etcd registry", EtcdEndpointRegistry.connect(options.etcd().get(),
          EtcdEndpointRegistry.Options.defaults(), clock));
      b.registry = b.etcd;
      b.probeLeadership = b.started.add("probe leadership",
          b.etcd.startProbeLeadership(options.replicaId(), PROBE_LEADERSHIP_TTL));
      b.readiness.registryTrouble(() -> {
        EtcdEndpointRegistry.Health health = b.etcd.health();
        return health.connected() ? Optional.empty() : Optional.of("etcd unreachable (" + health.endpoints() + "): "
            + health.lastError().orElse("no answer"));
      });
      return;
    }
    b.registry = new InMemoryEndpointRegistry(clock);
    b.sweeper = b.started.add("lease sweeper", new LeaseSweeper(b.registry, Duration.ofMinutes(1)));
    b.sweeper.addListener(b.metrics::leaseExpired);
  }

  /** How long a dead replica keeps the probe job before another takes it. */
  private static final Duration PROBE_LEADERSHIP_TTL = Duration.ofSeconds(10);

  /** Static endpoints, probes, decisions and publication: registry -> decision -> snapshot -> cache. */
  private static void startPipeline(Builder b, ControlPlaneOptions options, Clock clock) {
    b.statics = b.started.add("static endpoint resolver",
        new StaticEndpointResolver(b.registry, HostResolver.system(), clock, StaticEndpointResolver.INTERVAL));
    b.statics.start(b.policies.current().document().services());
    b.cache = new SimpleCache<>(node -> NodeKind.of(node).group());
    // Every snapshot is checked against Envoy's own validation rules before clients see it.
    b.publisher = new SnapshotPublisher(b.cache, new SnapshotBuilder(options.envoyListenerHost(),
        options.envoyListenerPort()), new dev.protomatch.xds.EnvoyRulesPreflight(), clock, b.clients,
        SnapshotPublisher.MAX_RETIRED_CLUSTER_HOLD, SnapshotPublisher.MAX_STAGING);
    b.updater = b.started.add("routing updater", new RoutingUpdater(() -> b.policies.current().document(),
        b.registry, clock, b.scheduler, options.debounce()));
    b.policies.addListener(applied -> {
      b.statics.policyChanged(applied.document().services());
      b.updater.requestUpdate();
    });
    b.prober = b.started.add("reflection prober", new ReflectionProber(b.registry, b.hasher,
        () -> b.policies.current().document().settings().probe(),
        endpoint -> servedTls(b.policies.current().document(), endpoint), clock));
    // Metrics hear every event from here on; the domain classes only announce them.
    b.updater.addListener(b.metrics::decided);
    b.updater.addRecomputationListener(r -> b.metrics.recomputed(r.changed(), r.elapsed()));
    b.publisher.addListener(b.clients::published);
    b.publisher.addListener(b.metrics::published);
    b.publisher.addRejectionListener(b.metrics::snapshotRejected);
    b.clients.addAckListener(b.metrics::acked);
    // Staged routes follow their clusters once clients hold those (or after at most MAX_STAGING): checked on
    // the scheduler, never on the stream thread that delivered the ACK.
    b.clients.addHoldingListener(() -> b.scheduler.execute(b.publisher::publishStaged));
    b.clients.addNackListener(b.metrics::nacked);
    b.prober.addListener(b.metrics::probed);
    b.updater.addListener(new DecisionChangeLog(b.registry::state));
    b.updater.addListener(new dev.protomatch.admin.UnservedMethodLog());
  }

  /** The xDS and registration ports; the registration server stops first at shutdown (it was started last). */
  private static void startServers(Builder b, ControlPlaneOptions options, Function<String, String> environment)
      throws IOException {
    ServerCredentials credentials = credentials(options);
    InetSocketAddress xdsAddress = new InetSocketAddress(options.bindHost(), options.xdsPort());
    b.xds = listen("xDS", xdsAddress, () -> XdsServer.start(xdsAddress, credentials, b.cache, b.clients));
    // Open streams get a moment to finish; clients keep their last configuration.
    b.started.addStop("xDS server", () -> b.xds.shutdown(2_000));
    RegistrationService registrationService = new RegistrationService(b.registry,
        () -> b.policies.current().document().settings(), b.hasher);
    registrationService.addListener(b.metrics::registrationCall);
    BearerTokenInterceptor tokens =
        new BearerTokenInterceptor(() -> b.policies.current().document().settings().auth(), environment);
    b.metrics.registrationTokenFrom(tokens::usingLastGoodToken);
    tokens.addRefusalListener(b.metrics::registrationAuthRefused);
    InetSocketAddress registrationAddress = new InetSocketAddress(options.bindHost(), options.registrationPort());
    b.registration = listen("registration", registrationAddress, () -> NettyServerBuilder.forAddress(
            registrationAddress, credentials)
        .maxInboundMessageSize(b.policies.current().document().settings().limits().maxMessageBytes())
        // Agents call every third of a lease's TTL; a connection idle for minutes is nobody's.
        .maxConnectionIdle(XdsServer.IDLE_CONNECTION_MINUTES, TimeUnit.MINUTES)
        .addService(ServerInterceptors.intercept(registrationService, tokens))
        .build()
        .start());
    b.started.addStop("registration server", () -> {
      b.registration.shutdown();
      if (!b.registration.awaitTermination(2, TimeUnit.SECONDS)) {
        b.registration.shutdownNow();
      }
    });
  }

  /**
   * With a registry in etcd: publishes this replica's record (its policy digest and, now that its ports are
   * open, its addresses) and follows the other replicas', flagging those that run another policy. Left
   * first at shutdown, so the others see this replica go while it still drains its xDS streams.
   */
  private static void joinReplicas(Builder b, ControlPlaneOptions options) {
    if (b.etcd == null) {
      return;
    }
    Optional<String> xds = Optional.of(options.bindHost() + ":" + b.xds.port());
    Optional<String> admin = Optional.of(options.adminBindHost() + ":" + b.admin.port());
    b.replicas = b.started.add("replica directory", b.etcd.startReplicaDirectory(() -> {
      AppliedPolicy policy = b.policies.current();
      return new ReplicaRecord(options.replicaId(), policy.sha256(), policy.version(), b.startedAt, xds, admin);
    }, REPLICA_RECORD_TTL));
    b.policies.addListener(applied -> b.replicas.selfChanged());
    b.metrics.replicasFrom(b.replicas::policyMismatches, b.etcd::appliedRevision);
  }

  /** How long the record of a replica that died stays in the others' views. */
  private static final Duration REPLICA_RECORD_TTL = Duration.ofSeconds(10);

  /** Something that opens a port. */
  @FunctionalInterface
  private interface Listening<T> {
    T open() throws IOException;
  }

  /** Opens a port; a failure becomes one line naming the port and why. */
  private static <T> T listen(String port, InetSocketAddress address, Listening<T> listening)
      throws ListenFailedException {
    try {
      return listening.open();
    } catch (IOException e) {
      throw new ListenFailedException(port, address, e);
    }
  }

  private static void installAdminViews(Builder b, ControlPlaneOptions options, Function<String, String> environment,
                                        Clock clock) {
    Supplier<ReplicaFacts> replicas = b.etcd == null
        ? () -> ReplicaFacts.inMemory(options.replicaId(), b.startedAt)
        : () -> new ReplicaFacts(options.replicaId(), b.startedAt, Optional.of(b.etcd.health()),
            b.probeLeadership.holder(), b.replicas.peers());
    new AdminApi(b.updater::current, b.registry, b.clients, b.publisher::rejections, b.policies,
        Optional.ofNullable(b.watcher),
        Optional.ofNullable(environment.apply(ADMIN_TOKEN_ENV)).filter(t -> !t.isBlank()), clock, replicas)
        .install(b.admin);
    new MetricsHandler(b.metrics.registry()).install(b.admin);
  }

  /** The periodic work, all on the scheduler (stopped with it). */
  private static void startWork(Builder b) {
    b.updater.start(Duration.ofSeconds(1));
    if (b.probeLeadership != null) {
      b.prober.start(b.scheduler, Duration.ofMillis(500), b.probeLeadership::isLeader);
    } else {
      b.prober.start(b.scheduler, Duration.ofMillis(500));
    }
    if (b.sweeper != null) {
      b.sweeper.start(b.scheduler, Duration.ofSeconds(5));
    }
    b.scheduler.scheduleWithFixedDelay(b.publisher::publishStaged, 250, 250, TimeUnit.MILLISECONDS);
  }

  /**
   * Publishes the first snapshot: at once, or after the warm-up in which an in-memory registry collects the
   * fleet's re-registrations (so a restarted control plane never pushes an empty registry).
   */
  private static void firstPublication(Builder b, ControlPlaneOptions options, Clock clock) {
    // etcd holds the fleet across restarts: publish from its state at once.
    Duration warmup = options.warmup().orElse(b.etcd != null ? Duration.ZERO
        : b.policies.current().document().settings().lease().defaultTtl());
    // Clients that outlived the previous process hold what it published, presumably under the policy this one
    // started with; if the policy changed during the warm-up, the first publication keeps those clusters for the
    // retention grace instead of dropping them under the clients' routes.
    AppliedPolicy startPolicy = b.policies.current();
    Runnable publish = () -> {
      if (!warmup.isZero()) {
        // Clients that outlived the previous process subscribe to the clusters it published: keep them
        // (empty where this process has none) until they ACKed routes without them.
        for (NodeKind kind : NodeKind.values()) {
          b.publisher.assumeSubscribed(kind, b.clients.requestedNames(kind, dev.protomatch.xds.XdsType.CDS));
        }
      }
      if (!warmup.isZero() && !b.policies.current().sha256().equals(startPolicy.sha256())) {
        b.publisher.assumePublished(dev.protomatch.decision.RoutingDecider.decide(startPolicy.document(),
            b.registry.state(), clock.instant()));
      }
      b.updater.addListenerWithCurrent(b.publisher::publish);
      b.readiness.published();
      log.info("first snapshot published{}", warmup.isZero() ? "" : " after a warm-up of " + warmup.toMillis() + " ms");
    };
    if (warmup.isZero()) {
      publish.run();
    } else {
      log.info("collecting registrations for {} ms before publishing (clients keep their last configuration)",
          warmup.toMillis());
      b.readiness.warmingUp(clock, warmup);
      b.scheduler.schedule(publish, warmup.toMillis(), TimeUnit.MILLISECONDS);
    }
  }

  private static void logStarted(Builder b, ControlPlaneOptions options, Function<String, String> environment) {
    AppliedPolicy policy = b.policies.current();
    warnIfRegistrationDisabled(policy.document().settings().auth(), environment);
    log.info("protomatch started: xds={}:{} registration={}:{} admin={}:{} policy='{}' version={} services={}"
            + " registry={} tls={}",
        options.bindHost(), b.xds.port(), options.bindHost(), b.registration.getPort(), options.adminBindHost(),
        b.admin.port(), policy.source(), policy.version(),
        policy.document().services().stream().map(ServicePolicy::service).toList(),
        b.etcd == null ? "in-memory" : b.etcd.target().describe() + " (replica " + options.replicaId()
            + ", revision " + b.etcd.appliedRevision() + ")",
        options.tls().map(t -> t.clientCa().isPresent() ? "mtls" : "tls").orElse("off"));
  }

  private static void warnIfRegistrationDisabled(
      dev.protomatch.policy.Settings.Auth auth, Function<String, String> environment) {
    if (auth.insecure()) {
      log.warn("registration accepts calls without a token (settings.auth.insecure: true): local development only");
    } else if (auth.tokenEnv().isPresent() && environment.apply(auth.tokenEnv().get()) == null) {
      log.warn("registration refuses every call until environment variable {} holds the token"
          + " (or set settings.auth.token-file)", auth.tokenEnv().get());
    } else if (auth.tokenFile().isPresent() && !java.nio.file.Files.isReadable(auth.tokenFile().get())) {
      log.warn("registration refuses every call until token file {} is readable", auth.tokenFile().get());
    }
  }

  /** The TLS an endpoint serves: the {@code upstream-tls} of the first of its services whose policy sets one. */
  private static java.util.Optional<dev.protomatch.policy.DataPlanePolicy.UpstreamTls> servedTls(
      dev.protomatch.policy.PolicyDocument policy, dev.protomatch.registry.EndpointState endpoint) {
    for (dev.protomatch.policy.ServicePolicy service : policy.services()) {
      if (service.dataPlane().upstreamTls().isPresent() && endpoint.advertised().containsKey(service.service())) {
        return service.dataPlane().upstreamTls();
      }
    }
    return java.util.Optional.empty();
  }

  private static ServerCredentials credentials(ControlPlaneOptions options) throws IOException {
    if (options.tls().isEmpty()) {
      return InsecureServerCredentials.create();
    }
    ControlPlaneOptions.TlsFiles tls = options.tls().get();
    TlsServerCredentials.Builder builder = TlsServerCredentials.newBuilder()
        .keyManager(tls.certificateChain().toFile(), tls.privateKey().toFile());
    if (tls.clientCa().isPresent()) {
      builder.trustManager(tls.clientCa().get().toFile()).clientAuth(TlsServerCredentials.ClientAuth.REQUIRE);
    }
    return builder.build();
  }

  public int xdsPort() {
    return xds.port();
  }

  public int registrationPort() {
    return registration.getPort();
  }

  public int adminPort() {
    return admin.port();
  }

  public EndpointRegistry registry() {
    return registry;
  }

  public PolicyStore policies() {
    return policies;
  }

  public RoutingUpdater updater() {
    return updater;
  }

  public SnapshotPublisher publisher() {
    return publisher;
  }

  /** The snapshot cache xDS clients are served from (diagnostics and tests). */
  public SimpleCache<String> snapshotCache() {
    return cache;
  }

  public XdsClientTracker clients() {
    return clients;
  }

  /** True once policies are loaded and the first snapshot is published, while the registry is usable (/readyz). */
  public boolean isReady() {
    return readiness.notReadyBecause().isEmpty();
  }

  public AdminServer admin() {
    return admin;
  }

  /** This control plane's metrics (its own registry), as {@code GET /metrics} shows them. */
  public ProtomatchMetrics metrics() {
    return metrics;
  }

  public PolicyFileWatcher policyWatcher() {
    return watcher;
  }

  /**
   * Stops everything in reverse start order: this replica's record in etcd first (the other replicas see it
   * leave), then registrations, then the xDS streams (given a moment to finish), decisions and probes, the registry, the policy watcher, the admin port and the scheduler.
   */
  @Override
  public void close() {
    readiness.stopping();
    log.info("protomatch shutting down: refusing registrations, draining xDS streams");
    started.close();
    log.info("protomatch stopped");
  }
}
