package dev.protomatch.xds;

import static org.assertj.core.api.Assertions.assertThat;

import com.google.protobuf.Any;
import com.google.protobuf.Duration;
import com.google.protobuf.Empty;
import com.google.protobuf.UInt32Value;
import com.google.protobuf.util.Durations;
import io.envoyproxy.envoy.config.cluster.v3.Cluster;
import io.envoyproxy.envoy.config.core.v3.Address;
import io.envoyproxy.envoy.config.core.v3.AggregatedConfigSource;
import io.envoyproxy.envoy.config.core.v3.ApiVersion;
import io.envoyproxy.envoy.config.core.v3.ConfigSource;
import io.envoyproxy.envoy.config.core.v3.Http2ProtocolOptions;
import io.envoyproxy.envoy.config.core.v3.Locality;
import io.envoyproxy.envoy.config.core.v3.SocketAddress;
import io.envoyproxy.envoy.config.endpoint.v3.ClusterLoadAssignment;
import io.envoyproxy.envoy.config.endpoint.v3.Endpoint;
import io.envoyproxy.envoy.config.endpoint.v3.LbEndpoint;
import io.envoyproxy.envoy.config.endpoint.v3.LocalityLbEndpoints;
import io.envoyproxy.envoy.config.listener.v3.ApiListener;
import io.envoyproxy.envoy.config.listener.v3.Filter;
import io.envoyproxy.envoy.config.listener.v3.FilterChain;
import io.envoyproxy.envoy.config.listener.v3.Listener;
import io.envoyproxy.envoy.config.listener.v3.QuicProtocolOptions;
import io.envoyproxy.envoy.config.listener.v3.UdpListenerConfig;
import io.envoyproxy.envoy.config.route.v3.Route;
import io.envoyproxy.envoy.config.route.v3.RouteAction;
import io.envoyproxy.envoy.config.route.v3.RouteConfiguration;
import io.envoyproxy.envoy.config.route.v3.RouteMatch;
import io.envoyproxy.envoy.config.route.v3.VirtualHost;
import io.envoyproxy.envoy.extensions.filters.http.router.v3.Router;
import io.envoyproxy.envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager;
import io.envoyproxy.envoy.extensions.filters.network.http_connection_manager.v3.HttpFilter;
import io.envoyproxy.envoy.extensions.filters.network.http_connection_manager.v3.Rds;
import io.envoyproxy.envoy.extensions.upstreams.http.v3.HttpProtocolOptions;
import java.util.List;
import java.util.function.UnaryOperator;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * Envoy's own rules (its protoc-gen-validate annotations, generated into validators at build time) applied to
 * resources shaped like SnapshotBuilder's, valid and deliberately broken.
 */
class EnvoyRulesPreflightTest {
  private static final String HCM_TYPE = "envoy.filters.network.http_connection_manager";
  private static final String PROTOCOL_OPTIONS = "envoy.extensions.upstreams.http.v3.HttpProtocolOptions";
  private static final String HCM_PATH =
      ".envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager";

  private final EnvoyRulesPreflight preflight = new EnvoyRulesPreflight();

  @ParameterizedTest
  @EnumSource(NodeKind.class)
  void resourcesShapedLikeSnapshotBuildersKeepEnvoysRules(NodeKind kind) {
    assertThat(preflight.problems(kind, snapshot(kind))).isEmpty();
  }

  @Test
  void endpointWeightZero() {
    XdsResources broken = withEndpoints(cla -> cla.toBuilder().setEndpoints(0, cla.getEndpoints(0).toBuilder()
        .setLbEndpoints(0, cla.getEndpoints(0).getLbEndpoints(0).toBuilder().setLoadBalancingWeight(UInt32Value.of(0))))
        .build());

    assertThat(preflight.problems(NodeKind.PROXYLESS, broken)).containsExactly(
        "EDS demo-greeter: .envoy.config.endpoint.v3.LbEndpoint.load_balancing_weight: "
            + "must be greater than or equal to 1 (got 0)");
  }

  @Test
  void aResourceCheckedBeforeKeepsItsProblemsAndAChangedOneIsCheckedAgain() {
    XdsResources broken = withEndpoints(cla -> cla.toBuilder().setEndpoints(0, cla.getEndpoints(0).toBuilder()
        .setLbEndpoints(0, cla.getEndpoints(0).getLbEndpoints(0).toBuilder().setLoadBalancingWeight(UInt32Value.of(0))))
        .build());
    String problem = "EDS demo-greeter: .envoy.config.endpoint.v3.LbEndpoint.load_balancing_weight: "
        + "must be greater than or equal to 1 (got 0)";
    XdsResources repaired = new XdsResources(broken.clusters(), snapshot(NodeKind.PROXYLESS).endpoints(),
        broken.listeners(), broken.routes());

    assertThat(preflight.problems(NodeKind.PROXYLESS, broken)).containsExactly(problem);
    assertThat(preflight.problems(NodeKind.PROXYLESS, broken)).containsExactly(problem);
    assertThat(preflight.problems(NodeKind.ENVOY, snapshot(NodeKind.ENVOY))).isEmpty();
    assertThat(preflight.problems(NodeKind.PROXYLESS, repaired)).isEmpty();
    assertThat(preflight.problems(NodeKind.PROXYLESS, broken)).containsExactly(problem);
  }

  @Test
  void localityWeightZero() {
    XdsResources broken = withEndpoints(cla -> cla.toBuilder()
        .setEndpoints(0, cla.getEndpoints(0).toBuilder().setLoadBalancingWeight(UInt32Value.of(0))).build());

    assertThat(preflight.problems(NodeKind.PROXYLESS, broken)).containsExactly(
        "EDS demo-greeter: .envoy.config.endpoint.v3.LocalityLbEndpoints.load_balancing_weight: "
            + "must be greater than or equal to 1 (got 0)");
  }

  @Test
  void assignmentWithoutClusterNameIsNamedByItsPosition() {
    XdsResources broken = withEndpoints(cla -> cla.toBuilder().setClusterName("").build());

    assertThat(preflight.problems(NodeKind.PROXYLESS, broken)).containsExactly(
        "EDS #0 (empty name): .envoy.config.endpoint.v3.ClusterLoadAssignment.cluster_name: "
            + "length must be at least 1 but got: 0");
  }

  @Test
  void clusterWithEmptyName() {
    XdsResources broken = withClusters(cluster -> cluster.toBuilder().setName("").build());

    assertThat(preflight.problems(NodeKind.PROXYLESS, broken)).containsExactly(
        "CDS #0 (empty name): .envoy.config.cluster.v3.Cluster.name: length must be at least 1 but got: 0");
  }

  @Test
  void negativeConnectTimeout() {
    XdsResources broken = withClusters(cluster -> cluster.toBuilder().setConnectTimeout(Durations.fromMillis(-1500))
        .build());

    assertThat(preflight.problems(NodeKind.PROXYLESS, broken)).containsExactly(
        "CDS demo-greeter: .envoy.config.cluster.v3.Cluster.connect_timeout: must be greater than 0s (got -1.500s)");
  }

  @Test
  void routeToAnEmptyClusterName() {
    XdsResources valid = snapshot(NodeKind.PROXYLESS);
    RouteConfiguration routes = valid.routes().get(0);
    VirtualHost host = routes.getVirtualHosts(0);
    Route route = host.getRoutes(0);
    XdsResources broken = new XdsResources(valid.clusters(), valid.endpoints(), valid.listeners(), List.of(
        routes.toBuilder().setVirtualHosts(0, host.toBuilder().setRoutes(0,
            route.toBuilder().setRoute(route.getRoute().toBuilder().setCluster("")))).build()));

    assertThat(preflight.problems(NodeKind.PROXYLESS, broken)).containsExactly(
        "RDS demo-greeter: .envoy.config.route.v3.RouteAction.cluster: length must be at least 1 but got: 0");
  }

  @Test
  void connectionManagerWithEmptyStatPrefixInsideAnApiListener() {
    XdsResources valid = snapshot(NodeKind.PROXYLESS);
    XdsResources broken = new XdsResources(valid.clusters(), valid.endpoints(), List.of(
        apiListener("demo-greeter", connectionManager("", "demo-greeter"))), valid.routes());

    assertThat(preflight.problems(NodeKind.PROXYLESS, broken)).containsExactly(
        "LDS demo-greeter: api_listener.api_listener: " + HCM_PATH + ".stat_prefix: "
            + "length must be at least 1 but got: 0");
  }

  @Test
  void routerInsideTheConnectionManagerOfAFilterChain() {
    HttpConnectionManager hcm = connectionManager("protomatch_egress", "protomatch-egress").toBuilder()
        .setHttpFilters(0, HttpFilter.newBuilder().setName("envoy.filters.http.router").setTypedConfig(Any.pack(
            Router.newBuilder().addStrictCheckHeaders("x-not-a-timeout").build())))
        .build();
    XdsResources valid = snapshot(NodeKind.ENVOY);
    XdsResources broken = new XdsResources(valid.clusters(), valid.endpoints(), List.of(envoyListener(hcm)),
        valid.routes());

    assertThat(preflight.problems(NodeKind.ENVOY, broken)).containsExactly(
        "LDS protomatch-egress: filter_chains[0].filters[0].typed_config: http_filters[0].typed_config: "
            + ".envoy.extensions.filters.http.router.v3.Router.strict_check_headers: must be in "
            + "[x-envoy-upstream-rq-timeout-ms, x-envoy-upstream-rq-per-try-timeout-ms, x-envoy-max-retries, "
            + "x-envoy-retry-grpc-on, x-envoy-retry-on] (got \"x-not-a-timeout\")");
  }

  @Test
  void protocolOptionsWithoutAProtocolInsideACluster() {
    XdsResources valid = snapshot(NodeKind.ENVOY);
    XdsResources broken = new XdsResources(List.of(valid.clusters().get(0).toBuilder()
        .putTypedExtensionProtocolOptions(PROTOCOL_OPTIONS, Any.pack(HttpProtocolOptions.getDefaultInstance()))
        .build()), valid.endpoints(), valid.listeners(), valid.routes());

    assertThat(preflight.problems(NodeKind.ENVOY, broken)).containsExactly(
        "CDS demo-greeter: typed_extension_protocol_options[" + PROTOCOL_OPTIONS + "]: "
            + ".envoy.extensions.upstreams.http.v3.HttpProtocolOptions.upstream_protocol_options: is required");
  }

  @Test
  void rulesBelowAMessageWithoutAGeneratedValidatorAreStillChecked() {
    // udp_listener_config.proto does not import validate.proto, so it has no validator; quic_config.proto has one.
    XdsResources valid = snapshot(NodeKind.ENVOY);
    XdsResources broken = new XdsResources(valid.clusters(), valid.endpoints(), List.of(valid.listeners().get(0)
        .toBuilder().setUdpListenerConfig(UdpListenerConfig.newBuilder().setQuicOptions(QuicProtocolOptions.newBuilder()
            .setPacketsToReadToConnectionCountRatio(UInt32Value.of(0)))).build()), valid.routes());

    assertThat(preflight.problems(NodeKind.ENVOY, broken)).containsExactly(
        "LDS protomatch-egress: .envoy.config.listener.v3.QuicProtocolOptions."
            + "packets_to_read_to_connection_count_ratio: must be greater than or equal to 1 (got 0)");
  }

  @Test
  void anEmbeddedTypeWithoutGeneratedRulesIsAProblemNotASilentPass() {
    XdsResources broken = withClusters(cluster -> cluster.toBuilder()
        .putTypedExtensionProtocolOptions("envoy.something.new", Any.pack(Empty.getDefaultInstance())).build());

    assertThat(preflight.problems(NodeKind.PROXYLESS, broken)).containsExactly(
        "CDS demo-greeter: typed_extension_protocol_options[envoy.something.new]: "
            + "no Envoy validator for embedded type type.googleapis.com/google.protobuf.Empty");
  }

  @Test
  void everyResourceTypeAndEveryEmbeddedConfigIsChecked() {
    XdsResources valid = snapshot(NodeKind.ENVOY);
    Cluster cluster = valid.clusters().get(0);
    ClusterLoadAssignment cla = valid.endpoints().get(0);
    RouteConfiguration routes = valid.routes().get(0);
    XdsResources broken = new XdsResources(
        List.of(cluster,
            cluster.toBuilder().setName("demo-greeter/SayHello").setConnectTimeout(Duration.getDefaultInstance())
                .build(),
            cluster.toBuilder().setName("demo-greeter/SayHelloAgain").putTypedExtensionProtocolOptions(PROTOCOL_OPTIONS,
                Any.pack(HttpProtocolOptions.getDefaultInstance())).build()),
        List.of(cla, cla.toBuilder().setClusterName("demo-greeter/SayHello")
            .setEndpoints(0, cla.getEndpoints(0).toBuilder().setLoadBalancingWeight(UInt32Value.of(0))).build()),
        List.of(envoyListener(connectionManager("protomatch_egress", "protomatch-egress").toBuilder()
                .setHttpFilters(0, HttpFilter.newBuilder().setName("envoy.filters.http.router").setTypedConfig(
                    Any.pack(Router.newBuilder().addStrictCheckHeaders("x-envoy-retry-on").addStrictCheckHeaders("")
                        .build())))
                .build()),
            apiListener("demo-greeter", connectionManager("", "demo-greeter"))),
        List.of(routes, routes.toBuilder().setName("other").setVirtualHosts(0,
            routes.getVirtualHosts(0).toBuilder().clearDomains()).build()));

    assertThat(preflight.problems(NodeKind.ENVOY, broken)).containsExactly(
        "CDS demo-greeter/SayHello: .envoy.config.cluster.v3.Cluster.connect_timeout: must be greater than 0s (got 0s)",
        "CDS demo-greeter/SayHelloAgain: typed_extension_protocol_options[" + PROTOCOL_OPTIONS + "]: "
            + ".envoy.extensions.upstreams.http.v3.HttpProtocolOptions.upstream_protocol_options: is required",
        "EDS demo-greeter/SayHello: .envoy.config.endpoint.v3.LocalityLbEndpoints.load_balancing_weight: "
            + "must be greater than or equal to 1 (got 0)",
        "LDS protomatch-egress: filter_chains[0].filters[0].typed_config: http_filters[0].typed_config: "
            + ".envoy.extensions.filters.http.router.v3.Router.strict_check_headers: must be in "
            + "[x-envoy-upstream-rq-timeout-ms, x-envoy-upstream-rq-per-try-timeout-ms, x-envoy-max-retries, "
            + "x-envoy-retry-grpc-on, x-envoy-retry-on] (got \"\")",
        "LDS demo-greeter: api_listener.api_listener: " + HCM_PATH
            + ".stat_prefix: length must be at least 1 but got: 0",
        "RDS other: .envoy.config.route.v3.VirtualHost.domains: must have at least 1 items (got [])");
  }

  @Test
  void timeBoundsAreShownAsDurationsOnOneLine() {
    assertThat(EnvoyRulesPreflight.rule("must be greater than or equal to nanos: 1000000\n", Durations.fromNanos(5)))
        .isEqualTo("must be greater than or equal to 0.001s (got 0.000000005s)");
    assertThat(EnvoyRulesPreflight.rule("must be in the range [a, b)\n", 7))
        .isEqualTo("must be in the range [a, b) (got 7)");
  }

  // Resources shaped as SnapshotBuilder shapes them (one service, demo.Greeter, two localities).

  private static XdsResources snapshot(NodeKind kind) {
    Cluster.Builder cluster = Cluster.newBuilder().setName("demo-greeter").setType(Cluster.DiscoveryType.EDS)
        .setEdsClusterConfig(Cluster.EdsClusterConfig.newBuilder().setEdsConfig(ads()))
        .setLbPolicy(Cluster.LbPolicy.ROUND_ROBIN).setConnectTimeout(Durations.fromSeconds(1));
    if (kind == NodeKind.ENVOY) {
      cluster.putTypedExtensionProtocolOptions(PROTOCOL_OPTIONS, Any.pack(HttpProtocolOptions.newBuilder()
          .setExplicitHttpConfig(HttpProtocolOptions.ExplicitHttpConfig.newBuilder()
              .setHttp2ProtocolOptions(Http2ProtocolOptions.getDefaultInstance()))
          .build()));
    }
    ClusterLoadAssignment cla = ClusterLoadAssignment.newBuilder().setClusterName("demo-greeter")
        .addEndpoints(locality("eu-1a", 1, 50052)).addEndpoints(locality("eu-1b", 3, 50053)).build();
    String name = kind == NodeKind.ENVOY ? "protomatch-egress" : "demo-greeter";
    RouteConfiguration routes = RouteConfiguration.newBuilder().setName(name)
        .addVirtualHosts(VirtualHost.newBuilder().setName(name).addDomains("*")
            .addRoutes(route(RouteMatch.newBuilder().setPath("/demo.Greeter/SayHello"), "demo-greeter"))
            .addRoutes(route(RouteMatch.newBuilder().setPrefix("/demo.Greeter/"), "demo-greeter")))
        .build();
    Listener listener = kind == NodeKind.ENVOY
        ? envoyListener(connectionManager("protomatch_egress", name))
        : apiListener(name, connectionManager(name, name));
    return new XdsResources(List.of(cluster.build()), List.of(cla), List.of(listener), List.of(routes));
  }

  private static XdsResources withClusters(UnaryOperator<Cluster> change) {
    XdsResources valid = snapshot(NodeKind.PROXYLESS);
    return new XdsResources(valid.clusters().stream().map(change).toList(), valid.endpoints(), valid.listeners(),
        valid.routes());
  }

  private static XdsResources withEndpoints(UnaryOperator<ClusterLoadAssignment> change) {
    XdsResources valid = snapshot(NodeKind.PROXYLESS);
    return new XdsResources(valid.clusters(), valid.endpoints().stream().map(change).toList(), valid.listeners(),
        valid.routes());
  }

  private static LocalityLbEndpoints.Builder locality(String zone, int weight, int port) {
    return LocalityLbEndpoints.newBuilder()
        .setLocality(Locality.newBuilder().setRegion("eu").setZone(zone))
        .setLoadBalancingWeight(UInt32Value.of(weight))
        .addLbEndpoints(LbEndpoint.newBuilder().setLoadBalancingWeight(UInt32Value.of(weight))
            .setEndpoint(Endpoint.newBuilder().setAddress(Address.newBuilder().setSocketAddress(
                SocketAddress.newBuilder().setAddress("127.0.0.1").setPortValue(port)))));
  }

  private static Route route(RouteMatch.Builder match, String cluster) {
    return Route.newBuilder().setMatch(match).setRoute(RouteAction.newBuilder().setCluster(cluster)).build();
  }

  private static ConfigSource ads() {
    return ConfigSource.newBuilder().setAds(AggregatedConfigSource.getDefaultInstance())
        .setResourceApiVersion(ApiVersion.V3).build();
  }

  private static HttpConnectionManager connectionManager(String statPrefix, String routeConfiguration) {
    return HttpConnectionManager.newBuilder()
        .setStatPrefix(statPrefix)
        .setCodecType(HttpConnectionManager.CodecType.AUTO)
        .setRds(Rds.newBuilder().setConfigSource(ads()).setRouteConfigName(routeConfiguration))
        .addHttpFilters(HttpFilter.newBuilder().setName("envoy.filters.http.router")
            .setTypedConfig(Any.pack(Router.getDefaultInstance())))
        .build();
  }

  private static Listener apiListener(String name, HttpConnectionManager hcm) {
    return Listener.newBuilder().setName(name)
        .setApiListener(ApiListener.newBuilder().setApiListener(Any.pack(hcm))).build();
  }

  private static Listener envoyListener(HttpConnectionManager hcm) {
    return Listener.newBuilder().setName("protomatch-egress")
        .setAddress(Address.newBuilder().setSocketAddress(
            SocketAddress.newBuilder().setAddress("127.0.0.1").setPortValue(15001)))
        .addFilterChains(FilterChain.newBuilder().addFilters(Filter.newBuilder().setName(HCM_TYPE)
            .setTypedConfig(Any.pack(hcm))))
        .build();
  }
}
