package dev.protomatch.xds;

import static org.assertj.core.api.Assertions.assertThat;

import dev.protomatch.decision.RoutableEndpoint;
import dev.protomatch.decision.RoutingDecision;
import dev.protomatch.decision.ServiceDecision;
import dev.protomatch.policy.Expectation;
import dev.protomatch.policy.ServicePolicy;
import dev.protomatch.registry.EndpointAddress;
import dev.protomatch.registry.Locality;
import io.envoyproxy.envoy.config.cluster.v3.Cluster;
import io.envoyproxy.envoy.config.endpoint.v3.ClusterLoadAssignment;
import io.envoyproxy.envoy.config.listener.v3.Listener;
import io.envoyproxy.envoy.config.route.v3.Route;
import io.envoyproxy.envoy.config.route.v3.RouteConfiguration;
import io.envoyproxy.envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.TreeMap;
import java.util.TreeSet;
import org.junit.jupiter.api.Test;

/** What clients receive, as a function of the decision alone. */
class SnapshotBuilderTest {
  private static final RoutableEndpoint V1 = endpoint(50051, new Locality("eu", "eu-1a", ""), 1);
  private static final RoutableEndpoint V2_A = endpoint(50052, new Locality("eu", "eu-1a", ""), 1);
  private static final RoutableEndpoint V2_B = endpoint(50053, new Locality("eu", "eu-1b", ""), 3);

  private final SnapshotBuilder builder = new SnapshotBuilder("127.0.0.1", 15001);

  @Test
  void proxylessClientGetsApiListenerAndRouteNamedAfterTheCluster() throws Exception {
    XdsResources resources = builder.build(fieldScenario(), NodeKind.PROXYLESS);

    Listener listener = resources.listeners().get(0);
    assertThat(listener.getName()).isEqualTo("demo-greeter");
    HttpConnectionManager hcm = listener.getApiListener().getApiListener().unpack(HttpConnectionManager.class);
    assertThat(hcm.getRds().getRouteConfigName()).isEqualTo("demo-greeter");
    assertThat(hcm.getHttpFiltersList()).extracting(f -> f.getName()).containsExactly("envoy.filters.http.router");
    assertThat(resources.routes()).extracting(RouteConfiguration::getName).containsExactly("demo-greeter");
  }

  @Test
  void methodServedByMoreBuildsGetsItsOwnClusterAndExactPathRoute() {
    XdsResources resources = builder.build(fieldScenario(), NodeKind.PROXYLESS);

    assertThat(resources.clusters()).extracting(Cluster::getName)
        .containsExactly("demo-greeter", "demo-greeter/SayHello");
    assertThat(endpoints(resources, "demo-greeter/SayHello")).containsExactlyInAnyOrder(50051, 50052, 50053);
    assertThat(endpoints(resources, "demo-greeter")).containsExactlyInAnyOrder(50052, 50053);
    List<Route> routes = resources.routes().get(0).getVirtualHosts(0).getRoutesList();
    assertThat(routes).extracting(r -> r.getMatch().getPath() + r.getMatch().getPrefix() + " -> " + r.getRoute().getCluster())
        .containsExactly("/demo.Greeter/SayHello -> demo-greeter/SayHello", "/demo.Greeter/ -> demo-greeter");
  }

  @Test
  void envoyGetsOneEgressListenerAndHttp2Clusters() {
    XdsResources resources = builder.build(fieldScenario(), NodeKind.ENVOY);

    assertThat(resources.listeners()).singleElement().satisfies(listener -> {
      assertThat(listener.getName()).isEqualTo(SnapshotBuilder.ENVOY_LISTENER);
      assertThat(listener.getAddress().getSocketAddress().getPortValue()).isEqualTo(15001);
    });
    assertThat(resources.clusters()).allSatisfy(cluster -> assertThat(cluster.getTypedExtensionProtocolOptionsMap())
        .containsKey("envoy.extensions.upstreams.http.v3.HttpProtocolOptions"));
  }

  @Test
  void proxylessClustersCarryNoEnvoyOnlyOptions() {
    assertThat(builder.build(fieldScenario(), NodeKind.PROXYLESS).clusters())
        .allSatisfy(cluster -> assertThat(cluster.getTypedExtensionProtocolOptionsMap()).isEmpty());
  }

  @Test
  void serviceNoEndpointQualifiesForKeepsItsRouteWithAnEmptyAssignment() {
    ServiceDecision none = new ServiceDecision(policy(), Optional.empty(), List.of(), List.of(), new TreeMap<>(),
        ServiceDecision.Outcome.NONE_QUALIFIED_FAIL_CLOSED);

    XdsResources resources = builder.build(decision(none), NodeKind.PROXYLESS);

    assertThat(resources.endpoints()).singleElement().satisfies(cla -> assertThat(cla.getEndpointsList()).isEmpty());
    assertThat(resources.routes().get(0).getVirtualHosts(0).getRoutesList()).hasSize(1);
  }

  @Test
  void localitiesGroupEndpointsAndWeighTheirSum() {
    ClusterLoadAssignment cla = builder.build(fieldScenario(), NodeKind.PROXYLESS).endpoints().stream()
        .filter(c -> c.getClusterName().equals("demo-greeter")).findFirst().orElseThrow();

    assertThat(cla.getEndpointsList()).extracting(l -> l.getLocality().getZone() + "=" + l.getLoadBalancingWeight().getValue())
        .containsExactly("eu-1a=1", "eu-1b=3");
  }

  @Test
  void equalDecisionsBuildEqualResources() {
    assertThat(builder.build(fieldScenario(), NodeKind.ENVOY)).isEqualTo(builder.build(fieldScenario(), NodeKind.ENVOY));
  }

  private static RoutingDecision fieldScenario() {
    TreeMap<String, List<RoutableEndpoint>> methods = new TreeMap<>(Map.of(
        "SayHello", List.of(V1, V2_A, V2_B), "SayHelloAgain", List.of(V2_A, V2_B)));
    return decision(new ServiceDecision(policy(), Optional.empty(), List.of(V2_A, V2_B), List.of(), methods,
        ServiceDecision.Outcome.QUALIFIED));
  }

  private static RoutingDecision decision(ServiceDecision service) {
    return new RoutingDecision(Instant.EPOCH, 1, new TreeMap<>(Map.of(service.service(), service)));
  }

  private static ServicePolicy policy() {
    return new ServicePolicy("demo.Greeter", "demo-greeter",
        new Expectation.RequiredMethods(new TreeSet<>(List.of("SayHello", "SayHelloAgain"))),
        ServicePolicy.WhenNoneQualify.FAIL_CLOSED, ServicePolicy.WithoutReflection.TRUST_ADVERTISED, List.of());
  }

  private static RoutableEndpoint endpoint(int port, Locality locality, int weight) {
    return new RoutableEndpoint(new EndpointAddress("127.0.0.1", port), locality, weight, Optional.empty());
  }

  private static List<Integer> endpoints(XdsResources resources, String cluster) {
    return resources.endpoints().stream().filter(c -> c.getClusterName().equals(cluster))
        .flatMap(c -> c.getEndpointsList().stream()).flatMap(l -> l.getLbEndpointsList().stream())
        .map(e -> e.getEndpoint().getAddress().getSocketAddress().getPortValue()).toList();
  }
}
