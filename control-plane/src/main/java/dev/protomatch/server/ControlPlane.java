package dev.protomatch.server;

import dev.protomatch.admin.AdminApi;
import dev.protomatch.admin.AdminServer;
import dev.protomatch.admin.DecisionChangeLog;
import dev.protomatch.admin.MetricsHandler;
import dev.protomatch.admin.ProtomatchMetrics;
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
import dev.protomatch.registry.InMemoryEndpointRegistry;
import dev.protomatch.registry.LeaseSweeper;
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
import java.util.List;
import java.util.Optional;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.function.Function;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One running control plane: the pipeline registrations/probes/static config -> registry -> decision ->
 * snapshot -> xDS clients, plus the registration and admin ports. Everything is wired here and nowhere
 * else.
 *
 * <p>Shutdown is graceful: registrations stop first, then decisions, then xDS streams are given a moment
 * to finish. Nothing is deregistered and no empty assignment is pushed, so clients keep their last
 * configuration and carry on until a control plane is back.
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
  private final LeaseSweeper sweeper;
  private final StaticEndpointResolver statics;
  private final PolicyFileWatcher watcher;
  private final XdsServer xds;
  private final Server registration;
  private final AdminServer admin;
  private final ProtomatchMetrics metrics;
  private volatile boolean ready;

  private ControlPlane(Builder b) {
    this.scheduler = b.scheduler;
    this.policies = b.policies;
    this.registry = b.registry;
    this.clients = b.clients;
    this.updater = b.updater;
    this.publisher = b.publisher;
    this.cache = b.cache;
    this.prober = b.prober;
    this.sweeper = b.sweeper;
    this.statics = b.statics;
    this.watcher = b.watcher;
    this.xds = b.xds;
    this.registration = b.registration;
    this.admin = b.admin;
    this.metrics = b.metrics;
  }

  /** Refused start: the policy file is invalid; nothing was started. */
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

  private static final class Builder {
    ScheduledExecutorService scheduler;
    PolicyStore policies;
    EndpointRegistry registry;
    XdsClientTracker clients;
    RoutingUpdater updater;
    SnapshotPublisher publisher;
    SimpleCache<String> cache;
    ReflectionProber prober;
    LeaseSweeper sweeper;
    StaticEndpointResolver statics;
    PolicyFileWatcher watcher;
    XdsServer xds;
    Server registration;
    AdminServer admin;
    ProtomatchMetrics metrics;
  }

  public static ControlPlane start(ControlPlaneOptions options, Clock clock, Function<String, String> environment)
      throws IOException, InvalidPolicyException {
    Builder b = new Builder();
    b.scheduler = Executors.newScheduledThreadPool(2, runnable -> {
      Thread thread = new Thread(runnable, "protomatch-control");
      thread.setDaemon(true);
      return thread;
    });
    b.policies = new PolicyStore(clock);
    b.clients = new XdsClientTracker(clock);
    b.metrics = new ProtomatchMetrics(b.clients::clients);
    b.policies.addOutcomeListener(b.metrics::policyReloaded); // before the first load, which counts too
    if (options.policyFile().isPresent()) {
      b.watcher = new PolicyFileWatcher(options.policyFile().get(), new PolicyParser(environment, java.nio.file.Files::isReadable),
          b.policies, b.scheduler, options.policyPollInterval());
      ReloadOutcome first = b.watcher.start();
      if (!first.accepted()) {
        b.watcher.close();
        b.scheduler.shutdownNow();
        throw new InvalidPolicyException(first.errors());
      }
    }
    b.registry = new InMemoryEndpointRegistry(clock);
    b.statics = new StaticEndpointResolver(b.registry, HostResolver.system(), clock, StaticEndpointResolver.INTERVAL);
    b.statics.start(b.policies.current().document().services());
    DescriptorHasher hasher = new DescriptorHasher();
    SimpleCache<String> cache = new SimpleCache<>(node -> NodeKind.of(node).group());
    b.cache = cache;
    // Every snapshot is checked against Envoy's own validation rules before clients see it.
    b.publisher = new SnapshotPublisher(cache, new SnapshotBuilder(options.envoyListenerHost(),
        options.envoyListenerPort()), new dev.protomatch.xds.EnvoyRulesPreflight(), clock, b.clients,
        SnapshotPublisher.MAX_RETIRED_CLUSTER_HOLD, SnapshotPublisher.MAX_STAGING);
    b.updater = new RoutingUpdater(() -> b.policies.current().document(), b.registry, clock, b.scheduler,
        options.debounce());
    b.policies.addListener(applied -> {
      b.statics.policyChanged(applied.document().services());
      b.updater.requestUpdate();
    });
    b.prober = new ReflectionProber(b.registry, hasher, () -> b.policies.current().document().settings().probe(), clock);
    b.sweeper = new LeaseSweeper(b.registry, Duration.ofMinutes(1));
    // Metrics hear every event from here on; the domain classes only announce them.
    b.updater.addListener(b.metrics::decided);
    b.updater.addRecomputationListener(r -> b.metrics.recomputed(r.changed(), r.elapsed()));
    b.publisher.addListener(b.clients::published);
    b.publisher.addListener(b.metrics::published);
    b.publisher.addRejectionListener(b.metrics::snapshotRejected);
    b.clients.addAckListener(b.metrics::acked);
    // Staged routes follow their clusters once clients ACKed those (or after at most MAX_STAGING): checked on
    // the scheduler, never on the stream thread that delivered the ACK.
    b.clients.addAckListener(ack -> b.scheduler.execute(b.publisher::publishStaged));
    b.clients.addNackListener(b.metrics::nacked);
    b.prober.addListener(b.metrics::probed);
    b.sweeper.addListener(b.metrics::leaseExpired);

    ServerCredentials credentials = credentials(options);
    b.xds = XdsServer.start(new InetSocketAddress(options.bindHost(), options.xdsPort()), credentials, cache, b.clients);
    RegistrationService registrationService = new RegistrationService(b.registry,
        () -> b.policies.current().document().settings(), hasher);
    registrationService.addListener(b.metrics::registrationCall);
    b.registration = NettyServerBuilder.forAddress(new InetSocketAddress(options.bindHost(), options.registrationPort()),
            credentials)
        .maxInboundMessageSize(b.policies.current().document().settings().limits().maxMessageBytes())
        .addService(ServerInterceptors.intercept(registrationService,
            new BearerTokenInterceptor(() -> b.policies.current().document().settings().auth(), environment)))
        .build()
        .start();
    ControlPlane[] self = new ControlPlane[1];
    b.admin = AdminServer.start(new InetSocketAddress(options.adminBindHost(), options.adminPort()),
        () -> self[0] != null && self[0].ready);
    if (!new InetSocketAddress(options.adminBindHost(), 0).getAddress().isLoopbackAddress()) {
      log.warn("admin port bound to {} (not loopback): every endpoint, client and policy is visible there",
          options.adminBindHost());
    }
    new AdminApi(b.updater::current, b.registry, b.clients, b.publisher::rejections, b.policies,
        Optional.ofNullable(b.watcher),
        Optional.ofNullable(environment.apply(ADMIN_TOKEN_ENV)).filter(t -> !t.isBlank()), clock).install(b.admin);
    new MetricsHandler(b.metrics.registry()).install(b.admin);
    b.updater.addListener(new DecisionChangeLog(b.registry::state));
    ControlPlane controlPlane = new ControlPlane(b);
    self[0] = controlPlane;

    b.updater.start(Duration.ofSeconds(1));
    b.prober.start(b.scheduler, Duration.ofMillis(500));
    b.sweeper.start(b.scheduler, Duration.ofSeconds(5));
    b.scheduler.scheduleWithFixedDelay(b.publisher::publishStaged, 250, 250, TimeUnit.MILLISECONDS);
    Duration warmup = options.warmup().orElse(b.policies.current().document().settings().lease().defaultTtl());
    // Clients that outlived the previous process hold what it published, presumably under the policy this one
    // started with; if the policy changed during the warm-up, the first publication keeps those clusters for the
    // retention grace instead of dropping them under the clients' routes.
    AppliedPolicy startPolicy = b.policies.current();
    Runnable publish = () -> {
      if (!warmup.isZero()) {
        // Clients that outlived the previous process subscribe to the clusters it published: keep them
        // (empty where this process has none) until they ACKed routes without them.
        for (dev.protomatch.xds.NodeKind kind : dev.protomatch.xds.NodeKind.values()) {
          b.publisher.assumeSubscribed(kind, b.clients.requestedNames(kind, dev.protomatch.xds.XdsType.CDS));
        }
      }
      if (!warmup.isZero() && !b.policies.current().sha256().equals(startPolicy.sha256())) {
        b.publisher.assumePublished(dev.protomatch.decision.RoutingDecider.decide(startPolicy.document(),
            b.registry.state(), clock.instant()));
      }
      b.updater.addListenerWithCurrent(b.publisher::publish);
      controlPlane.ready = true;
      log.info("first snapshot published{}", warmup.isZero() ? "" : " after a warm-up of " + warmup.toMillis() + " ms");
    };
    if (warmup.isZero()) {
      publish.run();
    } else {
      log.info("collecting registrations for {} ms before publishing (clients keep their last configuration)",
          warmup.toMillis());
      b.scheduler.schedule(publish, warmup.toMillis(), TimeUnit.MILLISECONDS);
    }
    AppliedPolicy policy = b.policies.current();
    warnIfRegistrationDisabled(policy.document().settings().auth(), environment);
    log.info("protomatch started: xds={}:{} registration={}:{} admin={}:{} policy='{}' version={} services={}"
            + " registry=in-memory tls={}",
        options.bindHost(), b.xds.port(), options.bindHost(), b.registration.getPort(), options.adminBindHost(),
        b.admin.port(), policy.source(), policy.version(),
        policy.document().services().stream().map(ServicePolicy::service).toList(),
        options.tls().map(t -> t.clientCa().isPresent() ? "mtls" : "tls").orElse("off"));
    return controlPlane;
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

  /** True once policies are loaded and the first snapshot is published (what /readyz reports). */
  public boolean isReady() {
    return ready;
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

  @Override
  public void close() {
    try {
      shutdownGracefully();
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }

  private void shutdownGracefully() throws InterruptedException {
    ready = false;
    log.info("protomatch shutting down: refusing registrations, draining xDS streams");
    registration.shutdown();
    if (watcher != null) {
      watcher.close();
    }
    sweeper.close();
    statics.close();
    prober.close();
    updater.close();
    scheduler.shutdownNow();
    xds.shutdown(2_000);
    registration.awaitTermination(2, TimeUnit.SECONDS);
    registration.shutdownNow();
    admin.close();
    log.info("protomatch stopped");
  }
}
