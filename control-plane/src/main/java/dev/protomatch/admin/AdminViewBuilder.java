package dev.protomatch.admin;

import dev.protomatch.registry.EtcdEndpointRegistry;
import dev.protomatch.decision.ExcludedEndpoint;
import dev.protomatch.decision.ExclusionReason;
import dev.protomatch.decision.RoutableEndpoint;
import dev.protomatch.decision.RoutingDecision;
import dev.protomatch.decision.ServiceDecision;
import dev.protomatch.descriptor.DescriptorHash;
import dev.protomatch.descriptor.ServiceFingerprint;
import dev.protomatch.policy.AppliedPolicy;
import dev.protomatch.policy.DataPlanePolicy;
import dev.protomatch.policy.DurationText;
import dev.protomatch.policy.Expectation;
import dev.protomatch.policy.HostPort;
import dev.protomatch.policy.ReloadOutcome;
import dev.protomatch.policy.ServicePolicy;
import dev.protomatch.registry.Advertisement;
import dev.protomatch.registry.EndpointAddress;
import dev.protomatch.registry.EndpointState;
import dev.protomatch.registry.Locality;
import dev.protomatch.registry.ProbeState;
import dev.protomatch.registry.RegistryState;
import dev.protomatch.registry.ReplicaRecord;
import dev.protomatch.xds.SnapshotPublisher;
import dev.protomatch.xds.XdsClientStatus;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.SortedSet;
import java.util.TreeMap;
import java.util.TreeSet;

/** Turns protomatch's state into admin documents; pure, so each view is tested from plain values. */
public final class AdminViewBuilder {
  private static final Map<String, String> TYPE_NAMES = Map.of(
      "type.googleapis.com/envoy.config.cluster.v3.Cluster", "clusters",
      "type.googleapis.com/envoy.config.endpoint.v3.ClusterLoadAssignment", "endpoints",
      "type.googleapis.com/envoy.config.listener.v3.Listener", "listeners",
      "type.googleapis.com/envoy.config.route.v3.RouteConfiguration", "routes",
      "type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.Secret", "secrets");

  private AdminViewBuilder() {}

  /**
   * Each service as routed: {@code included} every endpoint taking some of its calls (under fail-open with why it
   * did not qualify), {@code excluded} only the endpoints taking none, and {@code methods} per method the endpoints
   * its calls go to. Under fail-open that is every method the policy requires or a live build is known to serve
   * (probed, else advertised; {@code state}), each with every endpoint of the fallback.
   */
  public static AdminViews.Services services(RoutingDecision decision, RegistryState state) {
    List<AdminViews.Service> services = new ArrayList<>();
    for (ServiceDecision service : decision.services().values()) {
      Map<String, List<String>> methods = new TreeMap<>();
      service.methodEndpoints().forEach((method, endpoints) ->
          methods.put(method, endpoints.stream().map(e -> e.address().toString()).toList()));
      if (!service.fallback().isEmpty()) {
        // Calls to a method without a route of its own go to the fallback (fail-open).
        List<String> fallback = service.fallback().stream().map(e -> e.address().toString()).sorted().toList();
        knownMethods(service, state).forEach(method -> methods.putIfAbsent(method, fallback));
      }
      Map<EndpointAddress, ExclusionReason> unqualified = FailOpenEndpoints.unqualified(service);
      List<AdminViews.Excluded> excluded = new ArrayList<>();
      for (ExcludedEndpoint endpoint : FailOpenEndpoints.takingNoCalls(service)) {
        excluded.add(new AdminViews.Excluded(endpoint.address().toString(), endpoint.reason().code(),
            endpoint.reason().describe(), knownApi(state.endpoints().get(endpoint.address()), service.service())));
      }
      services.add(new AdminViews.Service(service.service(), service.policy().cluster(),
          expectation(service.policy().expect()),
          service.expected().map(AdminViewBuilder::surface).orElse(null),
          service.outcome().name().toLowerCase(Locale.ROOT),
          service.included().stream().map(e -> included(e, unqualified.get(e.address()))).toList(), excluded,
          methods,
          service.failsClosedForEveryMethod() ? "every_method"
              : service.methodsFailingClosed().isEmpty() ? "none" : "some_methods",
          List.copyOf(service.methodsFailingClosed())));
    }
    return new AdminViews.Services(decision.decidedAt().toString(), decision.registryVersion(), services);
  }

  /**
   * The methods of {@code service} known to the policy (required methods) or to the builds of its fallback
   * endpoints (their method surface, probed, else advertised with a descriptor set).
   */
  private static SortedSet<String> knownMethods(ServiceDecision service, RegistryState state) {
    SortedSet<String> out = new TreeSet<>();
    if (service.policy().expect() instanceof Expectation.RequiredMethods required) {
      out.addAll(required.methods());
    }
    for (RoutableEndpoint endpoint : service.fallback()) {
      EndpointState known = state.endpoints().get(endpoint.address());
      if (known != null) {
        Advertisement advertised = known.advertised().get(service.service());
        probed(known, service.service())
            .or(() -> advertised == null ? Optional.<ServiceFingerprint>empty() : advertised.fingerprint())
            .ifPresent(surface -> out.addAll(surface.methods().keySet()));
      }
    }
    return out;
  }

  public static AdminViews.Endpoints endpoints(RegistryState state, Instant now) {
    List<AdminViews.Endpoint> endpoints = new ArrayList<>();
    for (EndpointState endpoint : state.endpoints().values()) {
      List<AdminViews.ServiceBuild> builds = new ArrayList<>();
      for (Advertisement advertised : endpoint.advertised().values()) {
        Optional<ServiceFingerprint> probed = probed(endpoint, advertised.service());
        Optional<ServiceFingerprint> surface = probed.isPresent() ? probed : advertised.fingerprint();
        builds.add(new AdminViews.ServiceBuild(advertised.service(), text(advertised.api()), text(advertised.schema()),
            probed.map(f -> f.api().value()).orElse(null), probed.map(f -> f.schema().value()).orElse(null),
            surface.map(f -> List.copyOf(f.methods().keySet())).orElse(null)));
      }
      endpoints.add(new AdminViews.Endpoint(endpoint.address().toString(),
          endpoint.source().name().toLowerCase(Locale.ROOT), endpoint.client().isEmpty() ? null : endpoint.client(),
          endpoint.registeredAt().toString(),
          endpoint.lease().map(l -> new AdminViews.Lease(l.ttl().toSeconds(),
              // etcd expires its leases; other replicas' renewals are not seen here, so no expiry is shown.
              l.expiresAt().equals(EtcdEndpointRegistry.HELD_BY_ETCD) ? null : l.expiresAt().toString(),
              l.isExpired(now)))
              .orElse(null),
          locality(endpoint.locality()), endpoint.labels(), endpoint.weight(), builds, probe(endpoint.probe())));
    }
    return new AdminViews.Endpoints(state.version(), endpoints);
  }

  public static AdminViews.Clients clients(List<XdsClientStatus> statuses) {
    return clients(statuses, List.of());
  }

  /** The connected clients, and the node groups whose newest snapshot is refused (left out when none is). */
  public static AdminViews.Clients clients(List<XdsClientStatus> statuses,
                                           List<SnapshotPublisher.Rejection> rejections) {
    List<AdminViews.Client> clients = new ArrayList<>();
    for (XdsClientStatus status : statuses) {
      Map<String, AdminViews.ResourceType> types = new TreeMap<>();
      status.types().forEach((typeUrl, type) -> types.put(TYPE_NAMES.getOrDefault(typeUrl, typeUrl),
          new AdminViews.ResourceType(type.sentVersion(), type.ackedVersion(), type.lastNack()
              .map(n -> new AdminViews.Nack(n.version(), n.errorDetail(), n.at().toString())).orElse(null))));
      clients.add(new AdminViews.Client(status.streamId(), status.nodeId(), status.cluster(), status.userAgent(),
          status.protocol(), status.connectedAt().toString(), types));
    }
    List<AdminViews.RejectedSnapshot> rejected = new ArrayList<>();
    for (SnapshotPublisher.Rejection rejection : rejections) {
      Map<String, String> versions = new TreeMap<>();
      rejection.versionsInForce().forEach((type, version) -> versions.put(TYPE_NAMES.get(type.typeUrl()), version));
      rejected.add(new AdminViews.RejectedSnapshot(rejection.kind().group(), rejection.problems(),
          rejection.since().toString(), rejection.at().toString(), versions));
    }
    return new AdminViews.Clients(clients, rejected.isEmpty() ? null : rejected);
  }

  public static AdminViews.Policies policies(AppliedPolicy applied, Optional<ReloadOutcome> lastOutcome) {
    List<AdminViews.ServicePolicy> services = new ArrayList<>();
    for (ServicePolicy policy : applied.document().services()) {
      services.add(new AdminViews.ServicePolicy(policy.service(), policy.cluster(), expectation(policy.expect()),
          policy.whenNoneQualify().name().toLowerCase(Locale.ROOT).replace('_', '-'),
          policy.withoutReflection().name().toLowerCase(Locale.ROOT).replace('_', '-'),
          policy.staticEndpoints().stream().map(HostPort::toString).toList(),
          policy.dataPlane().maxTimeout().map(DurationText::format).orElse(null),
          circuitBreakers(policy.dataPlane().circuitBreakers()), retries(policy.dataPlane().retries()),
          policy.dataPlane().upstreamTls().map(AdminViewBuilder::upstreamTls).orElse(null),
          policy.dataPlane().outlierDetection().map(AdminViewBuilder::outlierDetection).orElse(null)));
    }
    return new AdminViews.Policies(applied.source(), applied.version(), applied.loadedAt().toString(), applied.sha256(),
        services, lastOutcome.map(o -> new AdminViews.Reload(o.at().toString(), o.accepted(),
            o.errors().stream().map(Object::toString).toList())).orElse(null));
  }

  /** This replica (its policy: {@code policy}) and its peers, each marked whether it runs the same policy. */
  public static AdminViews.Replicas replicas(ReplicaFacts facts, AppliedPolicy policy) {
    Optional<EtcdEndpointRegistry.Health> etcd = facts.etcd();
    AdminViews.Replica replica = new AdminViews.Replica(facts.replicaId(),
        etcd.map(EtcdEndpointRegistry.Health::endpoints).orElse("in-memory"),
        etcd.map(EtcdEndpointRegistry.Health::appliedRevision).orElse(null),
        etcd.map(EtcdEndpointRegistry.Health::connected).orElse(null),
        etcd.flatMap(EtcdEndpointRegistry.Health::lastError).orElse(null),
        etcd.map(EtcdEndpointRegistry.Health::resyncs).orElse(null),
        facts.probeLeader().orElse(null), policy.sha256(), policy.version(), facts.startedAt().toString());
    List<AdminViews.Peer> peers = new ArrayList<>();
    int mismatches = 0;
    for (ReplicaRecord peer : facts.peers()) {
      boolean same = peer.policySha256().equals(policy.sha256());
      mismatches += same ? 0 : 1;
      peers.add(new AdminViews.Peer(peer.id(), peer.policySha256(), peer.policyVersion(),
          peer.startedAt().toString(), peer.xdsAddress().orElse(null), peer.adminAddress().orElse(null), same));
    }
    return new AdminViews.Replicas(replica, mismatches, peers);
  }

  private static AdminViews.CircuitBreakers circuitBreakers(DataPlanePolicy.CircuitBreakers breakers) {
    return new AdminViews.CircuitBreakers(breakers.maxConnections(), breakers.maxPendingRequests(),
        breakers.maxRequests());
  }

  private static AdminViews.Retries retries(DataPlanePolicy.Retries retries) {
    return new AdminViews.Retries(retries.enabled(), retries.retryOn(), retries.maxRetries(),
        retries.budgetPercent().isPresent() ? retries.budgetPercent().getAsInt() : null,
        List.copyOf(retries.withoutRetries()));
  }

  private static AdminViews.UpstreamTls upstreamTls(DataPlanePolicy.UpstreamTls tls) {
    return new AdminViews.UpstreamTls(tls.caFile().toString(), tls.sni().orElse(null));
  }

  private static AdminViews.OutlierDetection outlierDetection(DataPlanePolicy.OutlierDetection outliers) {
    return new AdminViews.OutlierDetection(outliers.consecutiveErrors(), outliers.consecutiveGatewayErrors(),
        DurationText.format(outliers.baseEjectionTime()), outliers.maxEjectionPercent());
  }

  static AdminViews.Expectation expectation(Expectation expectation) {
    if (expectation instanceof Expectation.RequiredMethods required) {
      return new AdminViews.Expectation("methods", List.copyOf(required.methods()), null);
    }
    if (expectation instanceof Expectation.PinnedHash pin) {
      return new AdminViews.Expectation(pin.level().id(), null, pin.hash().value());
    }
    return new AdminViews.Expectation("newest", null, null);
  }

  private static AdminViews.ExpectedSurface surface(ServiceFingerprint fingerprint) {
    return new AdminViews.ExpectedSurface(fingerprint.api().value(), fingerprint.schema().value(),
        List.copyOf(fingerprint.methods().keySet()));
  }

  /** {@code unqualified}: why it did not qualify, when it takes calls only because the policy fails open. */
  private static AdminViews.Included included(RoutableEndpoint endpoint, ExclusionReason unqualified) {
    return new AdminViews.Included(endpoint.address().toString(), endpoint.api().map(DescriptorHash::value).orElse(null),
        locality(endpoint.locality()), endpoint.weight(),
        unqualified == null ? null : new AdminViews.Unqualified(unqualified.code(), unqualified.describe()));
  }

  private static AdminViews.Probe probe(ProbeState probe) {
    if (probe instanceof ProbeState.Probed probed) {
      return new AdminViews.Probe("ok", probed.at().toString(), probed.protocol().name().toLowerCase(Locale.ROOT),
          null, null, 0);
    }
    if (probe instanceof ProbeState.Failed failed) {
      return new AdminViews.Probe("failed", failed.at().toString(), null, failed.kind().name().toLowerCase(Locale.ROOT),
          failed.message(), failed.consecutiveFailures());
    }
    return new AdminViews.Probe("not_probed", null, null, null, null, 0);
  }

  /** The api hash protomatch believes the endpoint serves: probed if known, else advertised. */
  static String knownApi(EndpointState endpoint, String service) {
    if (endpoint == null) {
      return null;
    }
    Optional<ServiceFingerprint> probed = probed(endpoint, service);
    if (probed.isPresent()) {
      return probed.get().api().value();
    }
    Advertisement advertised = endpoint.advertised().get(service);
    return advertised == null ? null : text(advertised.api());
  }

  private static Optional<ServiceFingerprint> probed(EndpointState endpoint, String service) {
    return endpoint.probe() instanceof ProbeState.Probed probed
        ? Optional.ofNullable(probed.services().get(service)) : Optional.empty();
  }

  private static String locality(Locality locality) {
    if (locality.region().isEmpty() && locality.zone().isEmpty() && locality.subZone().isEmpty()) {
      return null;
    }
    return String.join("/", locality.region(), locality.zone(), locality.subZone()).replaceAll("/+$", "");
  }

  private static String text(Optional<DescriptorHash> hash) {
    return hash.map(DescriptorHash::value).orElse(null);
  }
}
