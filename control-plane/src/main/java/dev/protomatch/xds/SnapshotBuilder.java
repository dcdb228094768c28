package dev.protomatch.xds;

import com.google.protobuf.Any;
import com.google.protobuf.Duration;
import com.google.protobuf.UInt32Value;
import com.google.protobuf.util.Durations;
import dev.protomatch.decision.RoutableEndpoint;
import dev.protomatch.decision.RoutingDecision;
import dev.protomatch.decision.ServiceDecision;
import dev.protomatch.policy.DataPlanePolicy;
import dev.protomatch.registry.Locality;
import io.envoyproxy.envoy.config.cluster.v3.CircuitBreakers;
import io.envoyproxy.envoy.config.cluster.v3.Cluster;
import io.envoyproxy.envoy.config.cluster.v3.OutlierDetection;
import io.envoyproxy.envoy.config.core.v3.AggregatedConfigSource;
import io.envoyproxy.envoy.config.core.v3.ApiVersion;
import io.envoyproxy.envoy.config.core.v3.ConfigSource;
import io.envoyproxy.envoy.config.core.v3.DataSource;
import io.envoyproxy.envoy.config.core.v3.Http2ProtocolOptions;
import io.envoyproxy.envoy.config.core.v3.KeepaliveSettings;
import io.envoyproxy.envoy.config.core.v3.RoutingPriority;
import io.envoyproxy.envoy.config.core.v3.SocketAddress;
import io.envoyproxy.envoy.config.core.v3.TransportSocket;
import io.envoyproxy.envoy.config.endpoint.v3.ClusterLoadAssignment;
import io.envoyproxy.envoy.config.endpoint.v3.Endpoint;
import io.envoyproxy.envoy.config.endpoint.v3.LbEndpoint;
import io.envoyproxy.envoy.config.endpoint.v3.LocalityLbEndpoints;
import io.envoyproxy.envoy.config.listener.v3.ApiListener;
import io.envoyproxy.envoy.config.listener.v3.Filter;
import io.envoyproxy.envoy.config.listener.v3.FilterChain;
import io.envoyproxy.envoy.config.listener.v3.Listener;
import io.envoyproxy.envoy.config.route.v3.RetryPolicy;
import io.envoyproxy.envoy.config.route.v3.Route;
import io.envoyproxy.envoy.config.route.v3.RouteAction;
import io.envoyproxy.envoy.config.route.v3.RouteConfiguration;
import io.envoyproxy.envoy.config.route.v3.RouteMatch;
import io.envoyproxy.envoy.config.route.v3.VirtualHost;
import io.envoyproxy.envoy.extensions.filters.http.router.v3.Router;
import io.envoyproxy.envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager;
import io.envoyproxy.envoy.extensions.filters.network.http_connection_manager.v3.HttpFilter;
import io.envoyproxy.envoy.extensions.filters.network.http_connection_manager.v3.Rds;
import io.envoyproxy.envoy.extensions.retry.host.previous_hosts.v3.PreviousHostsPredicate;
import io.envoyproxy.envoy.extensions.transport_sockets.tls.v3.CertificateValidationContext;
import io.envoyproxy.envoy.extensions.transport_sockets.tls.v3.CommonTlsContext;
import io.envoyproxy.envoy.extensions.transport_sockets.tls.v3.SubjectAltNameMatcher;
import io.envoyproxy.envoy.extensions.transport_sockets.tls.v3.UpstreamTlsContext;
import io.envoyproxy.envoy.extensions.upstreams.http.v3.HttpProtocolOptions;
import io.envoyproxy.envoy.type.matcher.v3.StringMatcher;
import io.envoyproxy.envoy.type.v3.Percent;
import dev.protomatch.decision.MethodRoute;
import dev.protomatch.descriptor.DescriptorHash;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HexFormat;
import java.util.SortedSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.OptionalInt;
import java.util.TreeMap;

/**
 * Builds xDS resources from a routing decision: a pure function, so what clients receive follows from the
 * decision alone and is tested without a server. (It keeps the last build's resources of each service to reuse
 * while that service's decision is unchanged: faster, never different.)
 *
 * <p>Clusters are keyed by the <em>set of builds</em> that take a method's calls, not by method: per
 * service with cluster name {@code C}, cluster {@link #buildSetCluster C~<digest of the builds' api
 * hashes>} holds exactly the endpoints of those builds, and the exact-path route for
 * {@code /pkg.Service/Method} leads to the cluster of the builds serving that method. Hence:
 * <ul>
 *   <li>a cluster's name fixes which builds it can ever hold, so whatever mix of older and newer routes,
 *       clusters and assignments a client holds, a route for a method never leads to a build without it;
 *   <li>an endpoint of an existing build joining or leaving changes assignments only, never a route;
 *   <li>one build gives one cluster with endpoints, a rollout usually two.
 * </ul>
 * Calls to any other method of the service take the {@code /pkg.Service/} prefix route to cluster
 * {@code C}, which is empty (UNAVAILABLE, retryable) unless the decision fell open.
 *
 * <p>Proxyless gRPC clients get, per service, an API listener and a route configuration both named
 * {@code C} (the client dials {@code xds:///C}). Envoy sidecars get one listener,
 * {@value #ENVOY_LISTENER}, on the configured address, routing every service by path.
 *
 * <p>Weights: every endpoint carries its registered weight and every locality the sum of its endpoints'
 * (Envoy reads endpoint weights, gRPC locality weights; gRFC A27). Sums are taken in 64 bits; when an
 * assignment's total would exceed 2^31 - 1, every weight is divided by the same factor (each stays at least 1).
 *
 * <p>Data plane, from each service's {@link DataPlanePolicy} (every field and its reason:
 * {@code envoy-config/README.md}): routes carry no route timeout and take the caller's {@code grpc-timeout}
 * ({@code max_stream_duration.grpc_timeout_header_max}, capped by {@code max-timeout}) and the service's retry
 * policy, except the exact-path routes of the methods in its {@code without-retries}, which carry none (a
 * listed method without a route of its own, because no build serves it or the decision fell open, gets an
 * exact-path route to {@code C} without retries, so the prefix route's retries never cover it); clusters
 * carry one DEFAULT circuit-breaker threshold (2^31 - 1 unless the policy says otherwise) and a dot-free
 * {@code alt_stat_name}. Envoy clusters add HTTP/2 keepalive and, when the policy asks, upstream
 * TLS and outlier detection; the Envoy listener turns the stream idle timeout off and ends in a catch-all
 * route to the empty cluster {@value #UNKNOWN_SERVICE_CLUSTER}, so an unknown service is UNAVAILABLE for both
 * node kinds (proxyless clients have no listener for it).
 */
public final class SnapshotBuilder {
  public static final String ENVOY_LISTENER = "protomatch-egress";
  private static final String HCM_TYPE = "envoy.filters.network.http_connection_manager";
  private static final String ROUTER = "envoy.filters.http.router";
  private static final String HTTP_PROTOCOL_OPTIONS = "envoy.extensions.upstreams.http.v3.HttpProtocolOptions";
  private static final String PREVIOUS_HOSTS = "envoy.retry_host_predicates.previous_hosts";
  private static final String TLS_TRANSPORT_SOCKET = "envoy.transport_sockets.tls";
  /**
   * The cluster of Envoy's catch-all route. Policy cluster names cannot contain {@code ~} and build-set
   * clusters end in 12 hex digits, so no service's cluster can take this name.
   */
  public static final String UNKNOWN_SERVICE_CLUSTER = "protomatch~unknown-service";
  private static final DataPlanePolicy NO_RETRIES = new DataPlanePolicy(Optional.empty(),
      DataPlanePolicy.CircuitBreakers.DEFAULTS,
      new DataPlanePolicy.Retries(false, List.of(), 0, OptionalInt.empty()),
      Optional.empty(), Optional.empty());

  private final String envoyListenerHost;
  private final int envoyListenerPort;
  /**
   * Per node kind, each service's resources from the last build, reused (the same objects) while the service's
   * decision is equal: a change to one service rebuilds that service only, and the reused objects let versioning
   * skip unchanged resources by identity. A cache only: the output is the same function of the decision.
   * Replaced whole by each build; builds of one kind are meant to come from one thread (the publisher's).
   */
  private final boolean reuse;
  private final Map<NodeKind, Map<String, ServiceResources>> lastBuilt = new java.util.concurrent.ConcurrentHashMap<>(
      Map.of(NodeKind.ENVOY, Map.of(), NodeKind.PROXYLESS, Map.of()));
  /**
   * Envoy's resources shared by every service, from the last build: its one route configuration (reused while
   * every route in it is the same object as last time, so a change that leaves all routes alone builds, checks
   * and versions no route configuration), its listener and the unknown-service cluster (always the same).
   * Null before the first Envoy build. Written by Envoy builds only.
   */
  private volatile EnvoyShared lastEnvoy;

  private record EnvoyShared(List<Route> routes, RouteConfiguration routeConfiguration, Listener listener,
                             Cluster unknownCluster, ClusterLoadAssignment unknownAssignment) {}

  /** @param envoyListenerHost where sidecars listen for their application's outbound gRPC calls */
  public SnapshotBuilder(String envoyListenerHost, int envoyListenerPort) {
    this(envoyListenerHost, envoyListenerPort, true);
  }

  private SnapshotBuilder(String envoyListenerHost, int envoyListenerPort, boolean reuse) {
    this.envoyListenerHost = envoyListenerHost;
    this.envoyListenerPort = envoyListenerPort;
    this.reuse = reuse;
  }

  /** A builder that builds every service's resources anew each time: the same output, for measuring the reuse. */
  public static SnapshotBuilder withoutReuse(String envoyListenerHost, int envoyListenerPort) {
    return new SnapshotBuilder(envoyListenerHost, envoyListenerPort, false);
  }

  /**
   * The name of the cluster holding the endpoints of exactly {@code builds} of the service whose policy
   * names {@code cluster}: {@code cluster~} and 12 hex digits of a SHA-256 over the sorted api hashes. The
   * same builds always give the same name, in every process.
   */
  public static String buildSetCluster(String cluster, SortedSet<DescriptorHash> builds) {
    MessageDigest sha256;
    try {
      sha256 = MessageDigest.getInstance("SHA-256");
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException("every Java platform must provide SHA-256", e);
    }
    for (DescriptorHash build : builds) {
      sha256.update(build.value().getBytes(StandardCharsets.US_ASCII));
      sha256.update((byte) '\n');
    }
    return cluster + "~" + HexFormat.of().formatHex(sha256.digest(), 0, 6);
  }

  public XdsResources build(RoutingDecision decision, NodeKind kind) {
    Map<String, Cluster> clusters = new TreeMap<>();
    Map<String, ClusterLoadAssignment> endpoints = new TreeMap<>();
    Map<String, Listener> listeners = new TreeMap<>();
    Map<String, RouteConfiguration> routes = new TreeMap<>();
    List<Route> envoyRoutes = new ArrayList<>();
    List<Route> envoyPrefixRoutes = new ArrayList<>();

    Map<String, ServiceResources> built = new java.util.HashMap<>();
    Map<String, ServiceResources> last = lastBuilt.get(kind);
    for (ServiceDecision service : decision.services().values()) {
      ServiceResources previous = last.get(service.service());
      ServiceResources resources;
      if (!reuse || previous == null) {
        resources = service(service, kind);
      } else if (previous.decision().equals(service)) {
        resources = previous;
      } else {
        resources = withEqualObjectsOf(previous, service(service, kind));
      }
      built.put(service.service(), resources);
      clusters.putAll(resources.clusters());
      endpoints.putAll(resources.endpoints());
      resources.listener().ifPresent(listener -> listeners.put(listener.getName(), listener));
      resources.routeConfiguration().ifPresent(config -> routes.put(config.getName(), config));
      envoyRoutes.addAll(resources.methodRoutes());
      resources.prefixRoute().ifPresent(envoyPrefixRoutes::add);
    }
    lastBuilt.put(kind, built);
    if (kind == NodeKind.ENVOY) {
      envoyRoutes.addAll(envoyPrefixRoutes); // exact method paths before any service prefix
      // Any other path: an empty cluster, so Envoy answers 503 "no healthy upstream", which gRPC callers read as
      // UNAVAILABLE, as a proxyless client does for a target with no listener (rather than 404, UNIMPLEMENTED).
      EnvoyShared prior = reuse ? lastEnvoy : null;
      EnvoyShared shared;
      if (prior != null && sameObjects(prior.routes(), envoyRoutes)) {
        shared = prior;
      } else {
        List<Route> withDefault = new ArrayList<>(envoyRoutes);
        withDefault.add(prior != null ? prior.routes().get(prior.routes().size() - 1)
            : route(RouteMatch.newBuilder().setPrefix("/"), UNKNOWN_SERVICE_CLUSTER, NO_RETRIES));
        shared = new EnvoyShared(List.copyOf(withDefault), routeConfiguration(ENVOY_LISTENER, withDefault),
            prior != null ? prior.listener() : envoyListener(),
            prior != null ? prior.unknownCluster() : cluster(UNKNOWN_SERVICE_CLUSTER, kind, NO_RETRIES),
            prior != null ? prior.unknownAssignment() : assignment(UNKNOWN_SERVICE_CLUSTER, List.of()));
        if (reuse) {
          lastEnvoy = shared;
        }
      }
      clusters.put(UNKNOWN_SERVICE_CLUSTER, shared.unknownCluster());
      endpoints.put(UNKNOWN_SERVICE_CLUSTER, shared.unknownAssignment());
      routes.put(ENVOY_LISTENER, shared.routeConfiguration());
      listeners.put(ENVOY_LISTENER, shared.listener());
    }
    return new XdsResources(List.copyOf(clusters.values()), List.copyOf(endpoints.values()),
        List.copyOf(listeners.values()), List.copyOf(routes.values()));
  }

  /** Whether {@code routes} (without the final default route) are {@code last}'s routes, object for object. */
  private static boolean sameObjects(List<Route> last, List<Route> routes) {
    if (last.size() != routes.size() + 1) {
      return false;
    }
    for (int i = 0; i < routes.size(); i++) {
      if (last.get(i) != routes.get(i)) {
        return false;
      }
    }
    return true;
  }

  /**
   * One service's resources for one node kind. Envoy: its clusters, assignments, exact-path routes and prefix
   * route (the builder joins every service's routes into the one listener's route configuration); proxyless: its
   * clusters, assignments, and its own listener and route configuration.
   */
  private record ServiceResources(ServiceDecision decision, Map<String, Cluster> clusters,
                                  Map<String, ClusterLoadAssignment> endpoints, List<Route> methodRoutes,
                                  Optional<Route> prefixRoute, Optional<Listener> listener,
                                  Optional<RouteConfiguration> routeConfiguration) {}

  /**
   * {@code fresh}, with each resource (and Envoy route) equal to {@code previous}'s of the same name replaced by
   * {@code previous}'s object: an endpoint joining a service changes one assignment, and its clusters, routes and
   * listener stay the objects clients were sent (so Envoy's one route configuration is not rebuilt, validated and
   * digested again for every endpoint change).
   */
  private static ServiceResources withEqualObjectsOf(ServiceResources previous, ServiceResources fresh) {
    List<Route> routes = fresh.methodRoutes().equals(previous.methodRoutes()) ? previous.methodRoutes()
        : fresh.methodRoutes();
    return new ServiceResources(fresh.decision(), sameWhereEqual(previous.clusters(), fresh.clusters()),
        sameWhereEqual(previous.endpoints(), fresh.endpoints()), routes,
        fresh.prefixRoute().equals(previous.prefixRoute()) ? previous.prefixRoute() : fresh.prefixRoute(),
        fresh.listener().equals(previous.listener()) ? previous.listener() : fresh.listener(),
        fresh.routeConfiguration().equals(previous.routeConfiguration()) ? previous.routeConfiguration()
            : fresh.routeConfiguration());
  }

  private static <T> Map<String, T> sameWhereEqual(Map<String, T> previous, Map<String, T> fresh) {
    Map<String, T> result = new TreeMap<>();
    fresh.forEach((name, resource) -> {
      T before = previous.get(name);
      result.put(name, resource.equals(before) ? before : resource);
    });
    return result;
  }

  private ServiceResources service(ServiceDecision service, NodeKind kind) {
    Map<String, Cluster> clusters = new TreeMap<>();
    Map<String, ClusterLoadAssignment> endpoints = new TreeMap<>();
    String cluster = service.policy().cluster();
    DataPlanePolicy dataPlane = service.policy().dataPlane();
    clusters.put(cluster, cluster(cluster, kind, dataPlane));
    endpoints.put(cluster, assignment(cluster, service.fallback()));
    List<Route> serviceRoutes = new ArrayList<>();
    for (MethodRoute method : service.routes().values()) {
      String target = method.builds().isEmpty() ? cluster : buildSetCluster(cluster, method.builds());
      if (!clusters.containsKey(target)) {
        clusters.put(target, cluster(target, kind, dataPlane));
        endpoints.put(target, assignment(target, service.endpointsOf(method.builds())));
      }
      serviceRoutes.add(route(RouteMatch.newBuilder().setPath("/" + service.service() + "/" + method.method()),
          target, dataPlane, dataPlane.retries().appliesTo(method.method())));
    }
    if (dataPlane.retries().enabled()) {
      // An opted-out method without a route of its own (no build serves it yet, or the decision fell open)
      // would take the prefix route and its retries: it gets an exact-path route to the same cluster, unretried.
      for (String method : dataPlane.retries().withoutRetries()) {
        if (!service.routes().containsKey(method)) {
          serviceRoutes.add(route(RouteMatch.newBuilder().setPath("/" + service.service() + "/" + method),
              cluster, dataPlane, false));
        }
      }
    }
    Route prefix = route(RouteMatch.newBuilder().setPrefix("/" + service.service() + "/"), cluster, dataPlane);
    if (kind == NodeKind.PROXYLESS) {
      serviceRoutes.add(prefix);
      return new ServiceResources(service, clusters, endpoints, List.of(), Optional.empty(),
          Optional.of(Listener.newBuilder().setName(cluster)
              .setApiListener(ApiListener.newBuilder()
                  .setApiListener(Any.pack(connectionManager(cluster, cluster).build())))
              .build()),
          Optional.of(routeConfiguration(cluster, serviceRoutes)));
    }
    return new ServiceResources(service, clusters, endpoints, List.copyOf(serviceRoutes), Optional.of(prefix),
        Optional.empty(), Optional.empty());
  }

  private static ConfigSource ads() {
    return ConfigSource.newBuilder().setAds(AggregatedConfigSource.getDefaultInstance())
        .setResourceApiVersion(ApiVersion.V3).build();
  }

  /**
   * The name Envoy's statistics use for a cluster: its name with {@code .} and {@code ~} replaced by {@code _},
   * because Envoy's default tag extraction splits stat names at dots (two clusters differing only there share
   * their statistics).
   */
  static String statName(String cluster) {
    return cluster.replace('.', '_').replace('~', '_');
  }

  /**
   * A cluster of that name with no endpoints: what a restarted process publishes for a cluster its clients
   * still route to but it does not have (calls on those routes get UNAVAILABLE until the new routes arrive).
   */
  static XdsResources emptyCluster(String name, NodeKind kind) {
    return new XdsResources(List.of(cluster(name, kind, NO_RETRIES)), List.of(assignment(name, List.of())), List.of(),
        List.of());
  }

  private static Cluster cluster(String name, NodeKind kind, DataPlanePolicy dataPlane) {
    Cluster.Builder cluster = Cluster.newBuilder()
        .setName(name)
        .setAltStatName(statName(name))
        .setType(Cluster.DiscoveryType.EDS)
        .setEdsClusterConfig(Cluster.EdsClusterConfig.newBuilder().setEdsConfig(ads()))
        .setLbPolicy(Cluster.LbPolicy.ROUND_ROBIN)
        .setConnectTimeout(Durations.fromSeconds(1))
        .setCircuitBreakers(circuitBreakers(dataPlane));
    if (kind == NodeKind.ENVOY) {
      // Envoy speaks HTTP/1.1 upstream unless told otherwise; gRPC needs HTTP/2. Keepalive pings find a dead
      // connection under a long stream; gRPC servers by default allow one ping per 5 minutes while calls are
      // active (more earn a GOAWAY too_many_pings), so the interval is 5 minutes (Envoy adds 0-15% jitter).
      cluster.putTypedExtensionProtocolOptions(HTTP_PROTOCOL_OPTIONS, Any.pack(HttpProtocolOptions.newBuilder()
          .setExplicitHttpConfig(HttpProtocolOptions.ExplicitHttpConfig.newBuilder()
              .setHttp2ProtocolOptions(Http2ProtocolOptions.newBuilder().setConnectionKeepalive(KeepaliveSettings.newBuilder()
                  .setInterval(KEEPALIVE_INTERVAL).setTimeout(KEEPALIVE_TIMEOUT))))
          .build()));
      dataPlane.upstreamTls().ifPresent(tls -> cluster.setTransportSocket(transportSocket(tls)));
      dataPlane.outlierDetection().ifPresent(outliers -> cluster.setOutlierDetection(outlierDetection(outliers)));
    }
    return cluster.build();
  }

  static final Duration KEEPALIVE_INTERVAL = Durations.fromSeconds(300);
  static final Duration KEEPALIVE_TIMEOUT = Durations.fromSeconds(20);

  /**
   * One DEFAULT-priority threshold. Concurrent retries are limited by the retry budget when the policy sets
   * one, else not at all (Envoy's default of 3 concurrent retries per cluster would drop most retries after
   * an endpoint dies under load).
   */
  private static CircuitBreakers circuitBreakers(DataPlanePolicy dataPlane) {
    DataPlanePolicy.CircuitBreakers limits = dataPlane.circuitBreakers();
    CircuitBreakers.Thresholds.Builder thresholds = CircuitBreakers.Thresholds.newBuilder()
        .setPriority(RoutingPriority.DEFAULT)
        .setMaxConnections(UInt32Value.of(limits.maxConnections()))
        .setMaxPendingRequests(UInt32Value.of(limits.maxPendingRequests()))
        .setMaxRequests(UInt32Value.of(limits.maxRequests()));
    if (dataPlane.retries().budgetPercent().isPresent()) {
      thresholds.setRetryBudget(CircuitBreakers.Thresholds.RetryBudget.newBuilder()
          .setBudgetPercent(Percent.newBuilder().setValue(dataPlane.retries().budgetPercent().getAsInt())));
    } else {
      thresholds.setMaxRetries(UInt32Value.of(DataPlanePolicy.CircuitBreakers.UNLIMITED));
    }
    return CircuitBreakers.newBuilder().addThresholds(thresholds).build();
  }

  private static TransportSocket transportSocket(DataPlanePolicy.UpstreamTls tls) {
    CertificateValidationContext.Builder validation = CertificateValidationContext.newBuilder()
        .setTrustedCa(DataSource.newBuilder().setFilename(tls.caFile().toString()));
    tls.sni().ifPresent(sni -> validation.addMatchTypedSubjectAltNames(SubjectAltNameMatcher.newBuilder()
        .setSanType(SubjectAltNameMatcher.SanType.DNS).setMatcher(StringMatcher.newBuilder().setExact(sni))));
    UpstreamTlsContext.Builder context = UpstreamTlsContext.newBuilder()
        .setCommonTlsContext(CommonTlsContext.newBuilder()
            .addAlpnProtocols("h2") // gRPC servers refuse TLS connections that do not negotiate h2
            .setValidationContext(validation));
    tls.sni().ifPresent(context::setSni);
    return TransportSocket.newBuilder().setName(TLS_TRANSPORT_SOCKET).setTypedConfig(Any.pack(context.build())).build();
  }

  private static OutlierDetection outlierDetection(DataPlanePolicy.OutlierDetection outliers) {
    return OutlierDetection.newBuilder()
        .setConsecutive5Xx(UInt32Value.of(outliers.consecutiveErrors()))
        .setConsecutiveGatewayFailure(UInt32Value.of(outliers.consecutiveGatewayErrors()))
        .setEnforcingConsecutiveGatewayFailure(UInt32Value.of(100)) // Envoy's default 0 only counts them
        .setBaseEjectionTime(Durations.fromMillis(outliers.baseEjectionTime().toMillis()))
        .setMaxEjectionPercent(UInt32Value.of(outliers.maxEjectionPercent()))
        .build();
  }

  /**
   * Largest total weight of one assignment. xDS weights are uint32, but Envoy's generated validators (and
   * any client reading them as Java ints) see 2^31 and above as negative, so totals stay below 2^31.
   */
  static final long MAX_WEIGHT_SUM = Integer.MAX_VALUE;

  private static ClusterLoadAssignment assignment(String cluster, List<RoutableEndpoint> endpoints) {
    Map<Locality, List<RoutableEndpoint>> byLocality = new TreeMap<>(
        Comparator.comparing(Locality::region).thenComparing(Locality::zone).thenComparing(Locality::subZone));
    long total = 0;
    for (RoutableEndpoint endpoint : endpoints) {
      byLocality.computeIfAbsent(endpoint.locality(), l -> new ArrayList<>()).add(endpoint);
      total += Math.max(1, endpoint.weight());
    }
    long divisor = Math.max(1, (total + MAX_WEIGHT_SUM - 1) / MAX_WEIGHT_SUM);
    ClusterLoadAssignment.Builder assignment = ClusterLoadAssignment.newBuilder().setClusterName(cluster);
    byLocality.forEach((locality, members) -> {
      LocalityLbEndpoints.Builder group = LocalityLbEndpoints.newBuilder()
          .setLocality(io.envoyproxy.envoy.config.core.v3.Locality.newBuilder()
              .setRegion(locality.region()).setZone(locality.zone()).setSubZone(locality.subZone()));
      long sum = 0;
      for (RoutableEndpoint endpoint : members) {
        long weight = Math.max(1, Math.max(1, endpoint.weight()) / divisor);
        group.addLbEndpoints(LbEndpoint.newBuilder()
            .setEndpoint(Endpoint.newBuilder().setAddress(io.envoyproxy.envoy.config.core.v3.Address.newBuilder()
                .setSocketAddress(SocketAddress.newBuilder()
                    .setAddress(endpoint.address().host()).setPortValue(endpoint.address().port()))))
            .setLoadBalancingWeight(UInt32Value.of((int) weight)));
        sum += weight;
      }
      // gRPC ignores localities without a weight (gRFC A27), so every locality carries its endpoints' sum.
      assignment.addEndpoints(group.setLoadBalancingWeight(UInt32Value.of((int) Math.min(sum, MAX_WEIGHT_SUM))));
    });
    return assignment.build();
  }

  /**
   * A route with no Envoy route timeout ({@code timeout: 0s}: Envoy's default of 15 s would cut every longer
   * call and every stream) whose deadline is the caller's {@code grpc-timeout}
   * ({@code max_stream_duration.grpc_timeout_header_max}, which proxyless clients read too, gRFC A31): unlimited,
   * or cut to the policy's {@code max-timeout}, which then also bounds calls without a deadline.
   */
  private static Route route(RouteMatch.Builder match, String cluster, DataPlanePolicy dataPlane) {
    return route(match, cluster, dataPlane, dataPlane.retries().enabled());
  }

  /** @param retried whether the route carries the policy's retry policy (false for a method opted out of it) */
  private static Route route(RouteMatch.Builder match, String cluster, DataPlanePolicy dataPlane, boolean retried) {
    Duration max = dataPlane.maxTimeout().map(d -> Durations.fromMillis(d.toMillis())).orElse(Durations.ZERO);
    RouteAction.MaxStreamDuration.Builder streamDuration = RouteAction.MaxStreamDuration.newBuilder()
        .setGrpcTimeoutHeaderMax(max);
    if (dataPlane.maxTimeout().isPresent()) {
      streamDuration.setMaxStreamDuration(max);
    }
    RouteAction.Builder action = RouteAction.newBuilder().setCluster(cluster)
        .setTimeout(Durations.ZERO)
        .setMaxStreamDuration(streamDuration);
    if (retried) {
      action.setRetryPolicy(retryPolicy(dataPlane.retries()));
    }
    return Route.newBuilder().setMatch(match).setRoute(action).build();
  }

  /**
   * Envoy reads every condition; proxyless clients read the gRPC status ones (gRFC A44) and ignore the
   * host predicate. Both back off from 25 ms to 250 ms by default.
   */
  private static RetryPolicy retryPolicy(DataPlanePolicy.Retries retries) {
    return RetryPolicy.newBuilder()
        .setRetryOn(String.join(",", retries.retryOn()))
        .setNumRetries(UInt32Value.of(retries.maxRetries()))
        .addRetryHostPredicate(RetryPolicy.RetryHostPredicate.newBuilder().setName(PREVIOUS_HOSTS)
            .setTypedConfig(Any.pack(PreviousHostsPredicate.getDefaultInstance())))
        .setHostSelectionRetryMaxAttempts(HOST_SELECTION_ATTEMPTS)
        .build();
  }

  /** How often Envoy picks again when the predicate rejects a host already tried (Istio uses 5). */
  static final long HOST_SELECTION_ATTEMPTS = 5;

  private static RouteConfiguration routeConfiguration(String name, List<Route> routes) {
    return RouteConfiguration.newBuilder().setName(name)
        .addVirtualHosts(VirtualHost.newBuilder().setName(name).addDomains("*").addAllRoutes(routes))
        .build();
  }

  private static HttpConnectionManager.Builder connectionManager(String statPrefix, String routeConfiguration) {
    return HttpConnectionManager.newBuilder()
        .setStatPrefix(statPrefix)
        .setCodecType(HttpConnectionManager.CodecType.AUTO)
        .setRds(Rds.newBuilder().setConfigSource(ads()).setRouteConfigName(routeConfiguration))
        .addHttpFilters(HttpFilter.newBuilder().setName(ROUTER).setTypedConfig(Any.pack(Router.getDefaultInstance())));
  }

  private Listener envoyListener() {
    return Listener.newBuilder()
        .setName(ENVOY_LISTENER)
        .setAddress(io.envoyproxy.envoy.config.core.v3.Address.newBuilder().setSocketAddress(
            SocketAddress.newBuilder().setAddress(envoyListenerHost).setPortValue(envoyListenerPort)))
        .addFilterChains(FilterChain.newBuilder().addFilters(Filter.newBuilder().setName(HCM_TYPE)
            .setTypedConfig(Any.pack(connectionManager("protomatch_egress", ENVOY_LISTENER)
                // Envoy resets a stream with no message for 5 minutes by default, which ends quiet long-lived
                // streams (watches). Off: deadlines come from callers, dead upstream connections are found by
                // keepalive, and the downstream is the local application over loopback.
                .setStreamIdleTimeout(Durations.ZERO).build()))))
        .build();
  }
}
