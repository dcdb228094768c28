package dev.protomatch.xds;

import static org.assertj.core.api.Assertions.assertThat;

import com.google.protobuf.Message;
import com.google.protobuf.TextFormat;
import dev.protomatch.decision.RoutableEndpoint;
import dev.protomatch.decision.RoutingDecision;
import dev.protomatch.decision.ServiceDecision;
import dev.protomatch.policy.DataPlanePolicy;
import dev.protomatch.policy.DataPlanePolicy.CircuitBreakers;
import dev.protomatch.policy.DataPlanePolicy.OutlierDetection;
import dev.protomatch.policy.DataPlanePolicy.Retries;
import dev.protomatch.policy.DataPlanePolicy.UpstreamTls;
import dev.protomatch.policy.Expectation;
import dev.protomatch.policy.ServicePolicy;
import dev.protomatch.registry.EndpointAddress;
import dev.protomatch.registry.Locality;
import dev.protomatch.testing.Decisions;
import io.envoyproxy.envoy.config.cluster.v3.Cluster;
import io.envoyproxy.envoy.config.core.v3.TransportSocket;
import io.envoyproxy.envoy.config.listener.v3.Listener;
import io.envoyproxy.envoy.config.route.v3.Route;
import io.envoyproxy.envoy.config.route.v3.RouteAction;
import io.envoyproxy.envoy.config.route.v3.VirtualHost;
import io.envoyproxy.envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager;
import io.envoyproxy.envoy.extensions.upstreams.http.v3.HttpProtocolOptions;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.OptionalInt;
import java.util.TreeMap;
import java.util.TreeSet;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * Golden tests of the data-plane settings SnapshotBuilder generates (timeouts, circuit breakers, retries,
 * keepalive, stat names, TLS, outlier detection, unknown services): each pins the generated Envoy field in
 * text format and checks the whole snapshot against Envoy's validation rules.
 */
class SnapshotBuilderDataPlaneTest {
  private static final String CLUSTER = "demo.greeter";
  private static final String METHOD_CLUSTER = SnapshotBuilder.buildSetCluster(CLUSTER, new TreeSet<>(List.of(Decisions.build(1))));
  private static final String DEFAULT_RETRY_POLICY = """
      retry_on: "connect-failure,refused-stream,unavailable"
      num_retries { value: 2 }
      retry_host_predicate {
        name: "envoy.retry_host_predicates.previous_hosts"
        typed_config {
          [type.googleapis.com/envoy.extensions.retry.host.previous_hosts.v3.PreviousHostsPredicate] {}
        }
      }
      host_selection_retry_max_attempts: 5
      """;

  private final SnapshotBuilder builder = new SnapshotBuilder("127.0.0.1", 15001);
  private final EnvoyRulesPreflight preflight = new EnvoyRulesPreflight();

  @ParameterizedTest
  @EnumSource(NodeKind.class)
  void routesHaveNoRouteTimeoutAndTakeTheCallersDeadline(NodeKind kind) {
    RouteAction action = sayHello(build(DataPlanePolicy.DEFAULTS, kind));

    assertThat(action.toBuilder().clearCluster().clearRetryPolicy().build()).isEqualTo(parse("""
        timeout {}
        max_stream_duration { grpc_timeout_header_max {} }
        """, RouteAction.newBuilder()));
  }

  @ParameterizedTest
  @EnumSource(NodeKind.class)
  void maxTimeoutCapsTheCallersDeadlineAndCallsWithoutOne(NodeKind kind) {
    DataPlanePolicy dataPlane = with(Optional.of(Duration.ofSeconds(30)), CircuitBreakers.DEFAULTS, Retries.DEFAULTS);

    RouteAction action = sayHello(build(dataPlane, kind));

    assertThat(action.getMaxStreamDuration()).isEqualTo(parse("""
        max_stream_duration { seconds: 30 }
        grpc_timeout_header_max { seconds: 30 }
        """, RouteAction.MaxStreamDuration.newBuilder()));
    assertThat(action.getTimeout().getSeconds()).isZero();
  }

  @ParameterizedTest
  @EnumSource(NodeKind.class)
  void clustersHaveEffectivelyUnlimitedCircuitBreakersByDefault(NodeKind kind) {
    Cluster cluster = cluster(build(DataPlanePolicy.DEFAULTS, kind), METHOD_CLUSTER);

    assertThat(cluster.getCircuitBreakers()).isEqualTo(parse("""
        thresholds {
          max_connections { value: 2147483647 }
          max_pending_requests { value: 2147483647 }
          max_requests { value: 2147483647 }
          max_retries { value: 2147483647 }
        }
        """, io.envoyproxy.envoy.config.cluster.v3.CircuitBreakers.newBuilder()));
  }

  @ParameterizedTest
  @EnumSource(NodeKind.class)
  void policyCircuitBreakersApplyToEveryClusterOfTheService(NodeKind kind) {
    DataPlanePolicy dataPlane = with(Optional.empty(), new CircuitBreakers(10, 20, 30), Retries.DEFAULTS);
    XdsResources resources = build(dataPlane, kind);

    for (String name : List.of(CLUSTER, METHOD_CLUSTER)) {
      assertThat(cluster(resources, name).getCircuitBreakers().getThresholds(0)).isEqualTo(parse("""
          max_connections { value: 10 }
          max_pending_requests { value: 20 }
          max_requests { value: 30 }
          max_retries { value: 2147483647 }
          """, io.envoyproxy.envoy.config.cluster.v3.CircuitBreakers.Thresholds.newBuilder()));
    }
  }

  @ParameterizedTest
  @EnumSource(NodeKind.class)
  void aRetryBudgetReplacesTheConcurrentRetryLimit(NodeKind kind) {
    DataPlanePolicy dataPlane = with(Optional.empty(), CircuitBreakers.DEFAULTS,
        new Retries(true, Retries.DEFAULT_RETRY_ON, 2, OptionalInt.of(20)));

    var thresholds = cluster(build(dataPlane, kind), METHOD_CLUSTER).getCircuitBreakers().getThresholds(0);

    assertThat(thresholds.hasMaxRetries()).isFalse();
    assertThat(thresholds.getRetryBudget()).isEqualTo(parse("budget_percent { value: 20.0 }",
        io.envoyproxy.envoy.config.cluster.v3.CircuitBreakers.Thresholds.RetryBudget.newBuilder()));
  }

  @ParameterizedTest
  @EnumSource(NodeKind.class)
  void routesRetrySafeFailuresTwiceOnOtherHostsByDefault(NodeKind kind) {
    XdsResources resources = build(DataPlanePolicy.DEFAULTS, kind);

    assertThat(sayHello(resources).getRetryPolicy())
        .isEqualTo(parse(DEFAULT_RETRY_POLICY, io.envoyproxy.envoy.config.route.v3.RetryPolicy.newBuilder()));
    assertThat(route(resources, "/demo.Greeter/").getRoute().getRetryPolicy()).isEqualTo(sayHello(resources).getRetryPolicy());
  }

  @ParameterizedTest
  @EnumSource(NodeKind.class)
  void policyRetryConditionsAndCountAreUsed(NodeKind kind) {
    DataPlanePolicy dataPlane = with(Optional.empty(), CircuitBreakers.DEFAULTS,
        new Retries(true, List.of("connect-failure", "refused-stream"), 4, OptionalInt.empty()));

    var retry = sayHello(build(dataPlane, kind)).getRetryPolicy();

    assertThat(retry.getRetryOn()).isEqualTo("connect-failure,refused-stream");
    assertThat(retry.getNumRetries().getValue()).isEqualTo(4);
  }

  @ParameterizedTest
  @EnumSource(NodeKind.class)
  void retriesDisabledLeaveRoutesWithoutARetryPolicy(NodeKind kind) {
    DataPlanePolicy dataPlane = with(Optional.empty(), CircuitBreakers.DEFAULTS,
        new Retries(false, Retries.DEFAULT_RETRY_ON, 2, OptionalInt.empty()));
    XdsResources resources = build(dataPlane, kind);

    assertThat(sayHello(resources).hasRetryPolicy()).isFalse();
    assertThat(route(resources, "/demo.Greeter/").getRoute().hasRetryPolicy()).isFalse();
  }

  @ParameterizedTest
  @EnumSource(NodeKind.class)
  void aMethodWithoutRetriesHasARouteWithoutARetryPolicyWhileTheOthersKeepIt(NodeKind kind) {
    DataPlanePolicy dataPlane = with(Optional.empty(), CircuitBreakers.DEFAULTS, withoutRetries("SayHelloAgain"));

    XdsResources resources = build(dataPlane, kind, "SayHello", "SayHelloAgain");

    assertThat(route(resources, "/demo.Greeter/SayHelloAgain")).isEqualTo(parse("""
        match { path: "/demo.Greeter/SayHelloAgain" }
        route {
          cluster: "%s"
          timeout {}
          max_stream_duration { grpc_timeout_header_max {} }
        }
        """.formatted(METHOD_CLUSTER), Route.newBuilder()));
    assertThat(sayHello(resources).getRetryPolicy())
        .isEqualTo(parse(DEFAULT_RETRY_POLICY, io.envoyproxy.envoy.config.route.v3.RetryPolicy.newBuilder()));
    assertThat(route(resources, "/demo.Greeter/").getRoute().getRetryPolicy()).isEqualTo(sayHello(resources).getRetryPolicy());
  }

  @ParameterizedTest
  @EnumSource(NodeKind.class)
  void aMethodWithoutRetriesNoBuildServesGetsAnUnretriedRouteToTheServiceClusterAheadOfThePrefix(NodeKind kind) {
    DataPlanePolicy dataPlane = with(Optional.empty(), CircuitBreakers.DEFAULTS, withoutRetries("SayGoodbye"));

    XdsResources resources = build(dataPlane, kind, "SayHello");

    assertThat(route(resources, "/demo.Greeter/SayGoodbye")).isEqualTo(parse("""
        match { path: "/demo.Greeter/SayGoodbye" }
        route {
          cluster: "demo.greeter"
          timeout {}
          max_stream_duration { grpc_timeout_header_max {} }
        }
        """, Route.newBuilder()));
    assertThat(paths(resources)).containsSubsequence("/demo.Greeter/SayHello", "/demo.Greeter/SayGoodbye", "/demo.Greeter/");
    assertThat(sayHello(resources).hasRetryPolicy()).isTrue();
  }

  @ParameterizedTest
  @EnumSource(NodeKind.class)
  void aMethodWithoutRetriesIsNotRetriedWhenTheDecisionFellOpen(NodeKind kind) {
    ServicePolicy policy = new ServicePolicy("demo.Greeter", CLUSTER, new Expectation.Newest(),
        ServicePolicy.WhenNoneQualify.FAIL_OPEN, ServicePolicy.WithoutReflection.TRUST_ADVERTISED, List.of(),
        with(Optional.empty(), CircuitBreakers.DEFAULTS, withoutRetries("SayHelloAgain")));
    RoutableEndpoint endpoint =
        new RoutableEndpoint(new EndpointAddress("127.0.0.1", 50051), Locality.UNKNOWN, 1, Optional.empty());
    ServiceDecision service = new ServiceDecision(policy, Optional.empty(), new TreeMap<>(), new TreeMap<>(),
        List.of(endpoint), List.of(), ServiceDecision.Outcome.NONE_QUALIFIED_FAIL_OPEN);

    XdsResources resources = builder.build(
        new RoutingDecision(Instant.EPOCH, 1, new TreeMap<>(Map.of("demo.Greeter", service))), kind);

    assertThat(preflight.problems(kind, resources)).isEmpty();
    assertThat(route(resources, "/demo.Greeter/SayHelloAgain").getRoute().getCluster()).isEqualTo(CLUSTER);
    assertThat(route(resources, "/demo.Greeter/SayHelloAgain").getRoute().hasRetryPolicy()).isFalse();
    assertThat(route(resources, "/demo.Greeter/").getRoute().hasRetryPolicy()).isTrue();
  }

  @ParameterizedTest
  @EnumSource(NodeKind.class)
  void withRetriesOffAMethodWithoutRetriesAddsNoRoute(NodeKind kind) {
    DataPlanePolicy dataPlane = with(Optional.empty(), CircuitBreakers.DEFAULTS, new Retries(false,
        Retries.DEFAULT_RETRY_ON, 2, OptionalInt.empty(), new TreeSet<>(List.of("SayGoodbye"))));

    assertThat(paths(build(dataPlane, kind, "SayHello"))).doesNotContain("/demo.Greeter/SayGoodbye");
  }

  @Test
  void envoyClustersKeepHttp2ConnectionsAliveWithinGrpcServersPingPolicy() throws Exception {
    Cluster cluster = cluster(build(DataPlanePolicy.DEFAULTS, NodeKind.ENVOY), METHOD_CLUSTER);

    HttpProtocolOptions options = cluster.getTypedExtensionProtocolOptionsOrThrow(
        "envoy.extensions.upstreams.http.v3.HttpProtocolOptions").unpack(HttpProtocolOptions.class);
    assertThat(options).isEqualTo(parse("""
        explicit_http_config {
          http2_protocol_options {
            connection_keepalive { interval { seconds: 300 } timeout { seconds: 20 } }
          }
        }
        """, HttpProtocolOptions.newBuilder()));
  }

  @Test
  void proxylessClustersCarryNoEnvoyOnlyOptions() {
    DataPlanePolicy dataPlane = new DataPlanePolicy(Optional.empty(), CircuitBreakers.DEFAULTS, Retries.DEFAULTS,
        Optional.of(new UpstreamTls(Path.of("/etc/protomatch/ca.pem"), Optional.of("greeter.internal"))),
        Optional.of(new OutlierDetection(5, 5, Duration.ofSeconds(30), 10)));

    Cluster cluster = cluster(build(dataPlane, NodeKind.PROXYLESS), METHOD_CLUSTER);

    assertThat(cluster.getTypedExtensionProtocolOptionsMap()).isEmpty();
    assertThat(cluster.hasTransportSocket()).isFalse();
    assertThat(cluster.hasOutlierDetection()).isFalse();
  }

  @ParameterizedTest
  @EnumSource(NodeKind.class)
  void clusterStatNamesHaveNoDots(NodeKind kind) {
    XdsResources resources = build(DataPlanePolicy.DEFAULTS, kind);

    assertThat(cluster(resources, CLUSTER).getAltStatName()).isEqualTo("demo_greeter");
    assertThat(cluster(resources, METHOD_CLUSTER).getAltStatName())
        .isEqualTo("demo_greeter_" + METHOD_CLUSTER.substring(CLUSTER.length() + 1));
  }

  @Test
  void envoyStreamsAreNotEndedForBeingQuiet() throws Exception {
    Listener listener = build(DataPlanePolicy.DEFAULTS, NodeKind.ENVOY).listeners().get(0);

    HttpConnectionManager hcm = listener.getFilterChains(0).getFilters(0).getTypedConfig()
        .unpack(HttpConnectionManager.class);
    assertThat(hcm.hasStreamIdleTimeout()).isTrue();
    assertThat(hcm.getStreamIdleTimeout().getSeconds()).isZero();
  }

  @Test
  void upstreamTlsVerifiesTheCaAndServerNameAndOffersH2() throws Exception {
    DataPlanePolicy dataPlane = new DataPlanePolicy(Optional.empty(), CircuitBreakers.DEFAULTS, Retries.DEFAULTS,
        Optional.of(new UpstreamTls(Path.of("/etc/protomatch/ca.pem"), Optional.of("greeter.internal"))),
        Optional.empty());

    TransportSocket socket = cluster(build(dataPlane, NodeKind.ENVOY), METHOD_CLUSTER).getTransportSocket();

    assertThat(socket).isEqualTo(parse("""
        name: "envoy.transport_sockets.tls"
        typed_config {
          [type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.UpstreamTlsContext] {
            common_tls_context {
              alpn_protocols: "h2"
              validation_context {
                trusted_ca { filename: "/etc/protomatch/ca.pem" }
                match_typed_subject_alt_names { san_type: DNS matcher { exact: "greeter.internal" } }
              }
            }
            sni: "greeter.internal"
          }
        }
        """, TransportSocket.newBuilder()));
  }

  @Test
  void outlierDetectionEjectsOnConsecutiveErrorsAndGatewayFailures() {
    DataPlanePolicy dataPlane = new DataPlanePolicy(Optional.empty(), CircuitBreakers.DEFAULTS, Retries.DEFAULTS,
        Optional.empty(), Optional.of(new OutlierDetection(7, 3, Duration.ofSeconds(15), 50)));

    Cluster cluster = cluster(build(dataPlane, NodeKind.ENVOY), METHOD_CLUSTER);

    assertThat(cluster.getOutlierDetection()).isEqualTo(parse("""
        consecutive_5xx { value: 7 }
        consecutive_gateway_failure { value: 3 }
        enforcing_consecutive_gateway_failure { value: 100 }
        base_ejection_time { seconds: 15 }
        max_ejection_percent { value: 50 }
        """, io.envoyproxy.envoy.config.cluster.v3.OutlierDetection.newBuilder()));
  }

  @Test
  void envoyRoutesUnknownServicesToAnEmptyClusterLast() {
    XdsResources resources = build(DataPlanePolicy.DEFAULTS, NodeKind.ENVOY);
    VirtualHost host = resources.routes().get(0).getVirtualHosts(0);

    Route last = host.getRoutes(host.getRoutesCount() - 1);
    assertThat(last).isEqualTo(parse("""
        match { prefix: "/" }
        route {
          cluster: "protomatch~unknown-service"
          timeout {}
          max_stream_duration { grpc_timeout_header_max {} }
        }
        """, Route.newBuilder()));
    assertThat(resources.endpoints()).anySatisfy(assignment -> {
      assertThat(assignment.getClusterName()).isEqualTo(SnapshotBuilder.UNKNOWN_SERVICE_CLUSTER);
      assertThat(assignment.getEndpointsList()).isEmpty();
    });
    assertThat(cluster(resources, SnapshotBuilder.UNKNOWN_SERVICE_CLUSTER).getAltStatName())
        .isEqualTo("protomatch_unknown-service");
  }

  @Test
  void proxylessRouteConfigurationsHaveNoCatchAll() {
    XdsResources resources = build(DataPlanePolicy.DEFAULTS, NodeKind.PROXYLESS);

    assertThat(resources.clusters()).extracting(Cluster::getName).doesNotContain(SnapshotBuilder.UNKNOWN_SERVICE_CLUSTER);
    assertThat(resources.routes().get(0).getVirtualHosts(0).getRoutesList())
        .extracting(r -> r.getMatch().hasPrefix() ? r.getMatch().getPrefix() : r.getMatch().getPath())
        .containsExactly("/demo.Greeter/SayHello", "/demo.Greeter/");
  }

  private static DataPlanePolicy with(Optional<Duration> maxTimeout, CircuitBreakers breakers, Retries retries) {
    return new DataPlanePolicy(maxTimeout, breakers, retries, Optional.empty(), Optional.empty());
  }

  private static Retries withoutRetries(String... methods) {
    return new Retries(true, Retries.DEFAULT_RETRY_ON, Retries.DEFAULT_MAX_RETRIES, OptionalInt.empty(),
        new TreeSet<>(List.of(methods)));
  }

  private XdsResources build(DataPlanePolicy dataPlane, NodeKind kind) {
    return build(dataPlane, kind, "SayHello");
  }

  /** demo.Greeter in cluster demo.greeter, one build on one endpoint; every snapshot must keep Envoy's rules. */
  private XdsResources build(DataPlanePolicy dataPlane, NodeKind kind, String... methods) {
    ServicePolicy policy = new ServicePolicy("demo.Greeter", CLUSTER,
        new Expectation.RequiredMethods(new TreeSet<>(List.of("SayHello"))), ServicePolicy.WhenNoneQualify.FAIL_CLOSED,
        ServicePolicy.WithoutReflection.TRUST_ADVERTISED, List.of(), dataPlane);
    ServiceDecision service = Decisions.oneBuild(policy,
        List.of(new RoutableEndpoint(new EndpointAddress("127.0.0.1", 50051), Locality.UNKNOWN, 1, Optional.empty())),
        List.of(), methods);
    RoutingDecision decision = new RoutingDecision(Instant.EPOCH, 1, new TreeMap<>(Map.of("demo.Greeter", service)));
    XdsResources resources = builder.build(decision, kind);
    assertThat(preflight.problems(kind, resources)).isEmpty();
    return resources;
  }

  private static RouteAction sayHello(XdsResources resources) {
    return route(resources, "/demo.Greeter/SayHello").getRoute();
  }

  private static Route route(XdsResources resources, String path) {
    return resources.routes().stream().flatMap(c -> c.getVirtualHostsList().stream())
        .flatMap(h -> h.getRoutesList().stream())
        .filter(r -> r.getMatch().getPath().equals(path) || r.getMatch().getPrefix().equals(path))
        .findFirst().orElseThrow();
  }

  /** Every route's path or prefix, in the order clients match them. */
  private static List<String> paths(XdsResources resources) {
    return resources.routes().stream().flatMap(c -> c.getVirtualHostsList().stream())
        .flatMap(h -> h.getRoutesList().stream())
        .map(r -> r.getMatch().hasPrefix() ? r.getMatch().getPrefix() : r.getMatch().getPath())
        .toList();
  }

  private static Cluster cluster(XdsResources resources, String name) {
    return resources.clusters().stream().filter(c -> c.getName().equals(name)).findFirst().orElseThrow();
  }

  @SuppressWarnings("unchecked")
  private static <T extends Message> T parse(String text, Message.Builder builder) {
    try {
      TextFormat.Parser parser = TextFormat.Parser.newBuilder()
          .setTypeRegistry(com.google.protobuf.TypeRegistry.newBuilder()
              .add(io.envoyproxy.envoy.extensions.retry.host.previous_hosts.v3.PreviousHostsPredicate.getDescriptor())
              .add(io.envoyproxy.envoy.extensions.transport_sockets.tls.v3.UpstreamTlsContext.getDescriptor())
              .build())
          .build();
      parser.merge(text, builder);
      return (T) builder.build();
    } catch (TextFormat.ParseException e) {
      throw new AssertionError(e);
    }
  }
}
