package dev.protomatch.admin;

import dev.protomatch.decision.ExcludedEndpoint;
import dev.protomatch.decision.ExclusionReason;
import dev.protomatch.decision.RoutableEndpoint;
import dev.protomatch.decision.RoutingDecision;
import dev.protomatch.decision.ServiceDecision;
import dev.protomatch.policy.ReloadOutcome;
import dev.protomatch.probe.ReflectionException;
import dev.protomatch.probe.ReflectionProber;
import dev.protomatch.registration.BearerTokenInterceptor;
import dev.protomatch.registration.RegistrationService;
import dev.protomatch.registry.EndpointAddress;
import dev.protomatch.registry.EndpointState;
import dev.protomatch.registry.ProbeState;
import dev.protomatch.xds.NodeKind;
import dev.protomatch.xds.SnapshotPublisher;
import dev.protomatch.xds.XdsClientStatus;
import dev.protomatch.xds.XdsClientTracker;
import dev.protomatch.xds.XdsType;
import io.prometheus.metrics.core.metrics.Counter;
import io.prometheus.metrics.core.metrics.GaugeWithCallback;
import io.prometheus.metrics.core.metrics.Histogram;
import io.prometheus.metrics.model.registry.PrometheusRegistry;
import io.prometheus.metrics.model.snapshots.Unit;
import java.time.Duration;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.TreeMap;
import java.util.function.IntSupplier;
import java.util.function.LongSupplier;
import java.util.function.Supplier;

/**
 * Every protomatch metric, in a registry of its own (not the process-wide default, so several control
 * planes in one JVM, as in tests, keep theirs apart). The domain classes announce events through their
 * listener hooks; {@code ControlPlane} wires those hooks to the methods here, which are the only place
 * metrics are counted. The list of metrics and their labels is in {@code docs/metrics.md}.
 *
 * <p>Every label has a small, fixed set of values (services come from the policy file), so no client or
 * endpoint can grow the number of series.
 */
public final class ProtomatchMetrics {
  /** Label value for a resource type URL that is none of the four protomatch publishes. */
  static final String OTHER_TYPE = "other";

  private final PrometheusRegistry registry = new PrometheusRegistry();
  /** Endpoint counts by (service, state, reason), replaced whole by each decision. */
  private volatile Map<List<String>, Integer> endpoints = Map.of();
  /** Per service, how many of its routed methods fail closed. */
  private volatile Map<String, Integer> methodsFailingClosed = Map.of();
  /** Set once by {@link #replicasFrom}, with a registry in etcd; read at each scrape. */
  private volatile IntSupplier policyMismatches = () -> 0;

  private final Counter snapshotBuilds;
  private final Histogram snapshotBuildSeconds;
  private final Counter pushes;
  private final Counter snapshotRejections;
  private final Histogram pushLatencySeconds;
  private final Counter nacks;
  private final Counter probes;
  private final Histogram probeSeconds;
  private final Counter registrations;
  private final Counter keepAlives;
  private final Counter deregistrations;
  private final Counter leaseExpiries;
  private final Counter policyReloads;
  private final Counter authRefusals;

  /**
   * @param clients the open xDS streams, read at each scrape
   */
  public ProtomatchMetrics(Supplier<List<XdsClientStatus>> clients) {
    GaugeWithCallback.builder()
        .name("protomatch_endpoints")
        .help("Endpoints claiming each service in the routing decision in force, each counted once: included (taking"
            + " traffic; reason empty, or under fail-open the code of why it did not qualify) or excluded, with the"
            + " exclusion reason code")
        .labelNames("service", "state", "reason")
        .callback(callback -> endpoints.forEach((labels, count) -> callback.call(count, labels.toArray(String[]::new))))
        .register(registry);
    GaugeWithCallback.builder()
        .name("protomatch_methods_failing_closed")
        .help("Methods of each service whose calls fail closed (UNAVAILABLE) because no live build admitted by its"
            + " policy serves them; the service's other methods are routed")
        .labelNames("service")
        .callback(callback -> methodsFailingClosed.forEach((service, count) -> callback.call(count, service)))
        .register(registry);
    snapshotBuilds = Counter.builder()
        .name("protomatch_snapshot_builds_total")
        .help("Routing decisions that changed and were built into xDS snapshots and published")
        .register(registry);
    snapshotBuildSeconds = Histogram.builder()
        .name("protomatch_snapshot_build_seconds")
        .help("Time to compute a changed routing decision and build and publish its xDS snapshots")
        .unit(Unit.SECONDS)
        .classicOnly()
        .classicUpperBounds(0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5)
        .register(registry);
    pushes = Counter.builder()
        .name("protomatch_xds_pushes_total")
        .help("New versions of a resource type published to a node group (envoy or proxyless)")
        .labelNames("node_group", "type")
        .register(registry);
    snapshotRejections = Counter.builder()
        .name("protomatch_snapshot_rejected_total")
        .help("Snapshots refused by the pre-flight check before publication, by node group (envoy or proxyless);"
            + " the last good snapshot stayed in force")
        .labelNames("node_group")
        .register(registry);
    pushLatencySeconds = Histogram.builder()
        .name("protomatch_xds_push_latency_seconds")
        .help("Time from a version being published (or asked for, if later) to a client ACKing it")
        .unit(Unit.SECONDS)
        .labelNames("type")
        .classicOnly()
        .classicUpperBounds(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30)
        .register(registry);
    GaugeWithCallback.builder()
        .name("protomatch_xds_connected_clients")
        .help("Open xDS streams, by protocol (sotw: state of the world, delta: incremental)")
        .labelNames("protocol")
        .callback(callback -> {
          Map<String, Integer> byProtocol = new TreeMap<>(Map.of("sotw", 0, "delta", 0));
          clients.get().forEach(client -> byProtocol.merge(client.protocol(), 1, Integer::sum));
          byProtocol.forEach((protocol, count) -> callback.call(count, protocol));
        })
        .register(registry);
    nacks = Counter.builder()
        .name("protomatch_xds_nacks_total")
        .help("Versions rejected by a client (NACK), by resource type")
        .labelNames("type")
        .register(registry);
    probes = Counter.builder()
        .name("protomatch_probes_total")
        .help("Reflection probes, by result: ok, or why the probe failed")
        .labelNames("result")
        .register(registry);
    probeSeconds = Histogram.builder()
        .name("protomatch_probe_duration_seconds")
        .help("Time for one reflection probe, successful or not")
        .unit(Unit.SECONDS)
        .classicOnly()
        .classicUpperBounds(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10)
        .register(registry);
    registrations = outcomeCounter("protomatch_registrations_total",
        "Register calls, accepted or refused (invalid request or over a limit)");
    keepAlives = outcomeCounter("protomatch_keepalives_total",
        "KeepAlive calls, accepted or refused (lease unknown or expired)");
    deregistrations = outcomeCounter("protomatch_deregistrations_total",
        "Deregister calls, accepted or refused (lease unknown or expired)");
    leaseExpiries = Counter.builder()
        .name("protomatch_lease_expiries_total")
        .help("Registered endpoints forgotten because their lease lapsed without renewal")
        .register(registry);
    GaugeWithCallback.builder()
        .name("protomatch_replica_policy_mismatches")
        .help("Live replicas sharing this replica's etcd registry that run a policy with another sha256 digest"
            + " (0 with the in-memory registry)")
        .callback(callback -> callback.call(policyMismatches.getAsInt()))
        .register(registry);
    policyReloads = outcomeCounter("protomatch_policy_reloads_total",
        "Attempts to load the policy file (at start, on change, on request), accepted or refused");
    authRefusals = Counter.builder()
        .name("protomatch_registration_auth_refusals_total")
        .help("Registration calls refused before the service saw them, by reason: missing or invalid bearer token,"
            + " or the configured token unreadable (registration disabled)")
        .labelNames("reason")
        .register(registry);
    for (BearerTokenInterceptor.RefusalReason reason : BearerTokenInterceptor.RefusalReason.values()) {
      authRefusals.initLabelValues(reason.label());
    }

    for (NodeKind kind : NodeKind.values()) {
      for (XdsType type : XdsType.values()) {
        pushes.initLabelValues(kind.group(), type.name());
      }
      snapshotRejections.initLabelValues(kind.group());
    }
    for (XdsType type : XdsType.values()) {
      nacks.initLabelValues(type.name());
      pushLatencySeconds.initLabelValues(type.name());
    }
    probes.initLabelValues("ok");
    for (ReflectionException.Kind kind : ReflectionException.Kind.values()) {
      probes.initLabelValues(probeResult(kind));
    }
  }

  private Counter outcomeCounter(String name, String help) {
    Counter counter = Counter.builder().name(name).help(help).labelNames("outcome").register(registry);
    counter.initLabelValues("accepted");
    counter.initLabelValues("refused");
    return counter;
  }

  /** The registry {@code /metrics} exposes. */
  public PrometheusRegistry registry() {
    return registry;
  }

  /**
   * With a registry in etcd: the replicas' policy mismatches, and {@code protomatch_registry_applied_revision}
   * (registered here, so it does not exist with the in-memory registry). Call at most once.
   */
  public void replicasFrom(IntSupplier mismatches, LongSupplier appliedRevision) {
    policyMismatches = mismatches;
    GaugeWithCallback.builder()
        .name("protomatch_registry_applied_revision")
        .help("The etcd revision up to which this replica has applied every change to the registry")
        .callback(callback -> callback.call(appliedRevision.getAsLong()))
        .register(registry);
  }

  /**
   * The registration port's token check: {@code protomatch_registration_token_stale} is 1 while the token source
   * cannot be read and the tokens read last stand in. Call at most once.
   */
  public void registrationTokenFrom(java.util.function.BooleanSupplier stale) {
    GaugeWithCallback.builder()
        .name("protomatch_registration_token_stale")
        .help("1 while the registration token file (or variable) cannot be read and the tokens read last are"
            + " still accepted; 0 otherwise")
        .callback(callback -> callback.call(stale.getAsBoolean() ? 1 : 0))
        .register(registry);
  }

  /** A decision was handed on: its endpoint counts replace the previous decision's. */
  public void decided(RoutingDecision decision) {
    Map<List<String>, Integer> counts = new TreeMap<>(ProtomatchMetrics::compareLabels);
    for (ServiceDecision service : decision.services().values()) {
      // Each endpoint counts once: one taking calls only because the policy fails open is included, under the
      // reason it did not qualify.
      Map<EndpointAddress, ExclusionReason> unqualified = FailOpenEndpoints.unqualified(service);
      counts.put(List.of(service.service(), "included", ""), 0);
      for (RoutableEndpoint included : service.included()) {
        ExclusionReason reason = unqualified.get(included.address());
        counts.merge(List.of(service.service(), "included", reason == null ? "" : reason.code()), 1, Integer::sum);
      }
      for (ExcludedEndpoint excluded : FailOpenEndpoints.takingNoCalls(service)) {
        counts.merge(List.of(service.service(), "excluded", excluded.reason().code()), 1, Integer::sum);
      }
    }
    endpoints = counts;
    Map<String, Integer> failing = new TreeMap<>();
    for (ServiceDecision service : decision.services().values()) {
      failing.put(service.service(), service.methodsFailingClosed().size());
    }
    methodsFailingClosed = failing;
  }

  /** The routing decision was recomputed; only a changed one is built into snapshots. */
  public void recomputed(boolean changed, Duration elapsed) {
    if (changed) {
      snapshotBuilds.inc();
      snapshotBuildSeconds.observe(seconds(elapsed));
    }
  }

  public void published(SnapshotPublisher.Publication publication) {
    publication.changed().keySet().forEach(type -> pushes.labelValues(publication.kind().group(), type.name()).inc());
  }

  /** A snapshot was refused before publication; the node group keeps its last good one. */
  public void snapshotRejected(SnapshotPublisher.Rejection rejection) {
    snapshotRejections.labelValues(rejection.kind().group()).inc();
  }

  public void acked(XdsClientTracker.AckEvent ack) {
    ack.latency().ifPresent(latency ->
        pushLatencySeconds.labelValues(typeLabel(ack.typeUrl())).observe(seconds(latency)));
  }

  public void nacked(XdsClientTracker.NackEvent nack) {
    nacks.labelValues(typeLabel(nack.typeUrl())).inc();
  }

  public void probed(ReflectionProber.ProbeCompleted probe) {
    String result = probe.outcome() instanceof ProbeState.Failed failed ? probeResult(failed.kind()) : "ok";
    probes.labelValues(result).inc();
    probeSeconds.observe(seconds(probe.duration()));
  }

  public void registrationCall(RegistrationService.Call call) {
    Counter counter = switch (call.kind()) {
      case REGISTER -> registrations;
      case KEEP_ALIVE -> keepAlives;
      case DEREGISTER -> deregistrations;
    };
    counter.labelValues(call.accepted() ? "accepted" : "refused").inc();
  }

  /** The registration port refused a call for its bearer token ({@link BearerTokenInterceptor}). */
  public void registrationAuthRefused(BearerTokenInterceptor.Refusal refusal) {
    authRefusals.labelValues(refusal.reason().label()).inc();
  }

  public void leaseExpired(EndpointState forgotten) {
    leaseExpiries.inc();
  }

  public void policyReloaded(ReloadOutcome outcome) {
    policyReloads.labelValues(outcome.accepted() ? "accepted" : "refused").inc();
  }

  private static String probeResult(ReflectionException.Kind kind) {
    return kind.name().toLowerCase(Locale.ROOT);
  }

  private static String typeLabel(String typeUrl) {
    return XdsType.ofTypeUrl(typeUrl).map(XdsType::name).orElse(OTHER_TYPE);
  }

  private static double seconds(Duration duration) {
    return duration.toNanos() / 1e9;
  }

  private static int compareLabels(List<String> a, List<String> b) {
    for (int i = 0; i < Math.min(a.size(), b.size()); i++) {
      int c = a.get(i).compareTo(b.get(i));
      if (c != 0) {
        return c;
      }
    }
    return Integer.compare(a.size(), b.size());
  }
}
