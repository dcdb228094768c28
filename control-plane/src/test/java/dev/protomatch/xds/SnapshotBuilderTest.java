package dev.protomatch.xds;

import static org.assertj.core.api.Assertions.assertThat;

import dev.protomatch.decision.MethodRoute;
import dev.protomatch.decision.RoutableEndpoint;
import dev.protomatch.descriptor.DescriptorHash;
import dev.protomatch.testing.Decisions;
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
  private static final DescriptorHash V1_BUILD = Decisions.build(1);
  private static final DescriptorHash V2_BUILD = Decisions.build(2);

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
  void eachMethodIsRoutedToTheClusterOfTheBuildsServingIt() {
    XdsResources resources = builder.build(fieldScenario(), NodeKind.PROXYLESS);

    String both = SnapshotBuilder.buildSetCluster("demo-greeter", new TreeSet<>(List.of(V1_BUILD, V2_BUILD)));
    String v2 = SnapshotBuilder.buildSetCluster("demo-greeter", new TreeSet<>(List.of(V2_BUILD)));
    assertThat(resources.clusters()).extracting(Cluster::getName).containsExactlyInAnyOrder("demo-greeter", both, v2);
    assertThat(endpoints(resources, both)).containsExactlyInAnyOrder(50051, 50052, 50053);
    assertThat(endpoints(resources, v2)).containsExactlyInAnyOrder(50052, 50053);
    assertThat(endpoints(resources, "demo-greeter")).isEmpty();
    List<Route> routes = resources.routes().get(0).getVirtualHosts(0).getRoutesList();
    assertThat(routes).extracting(r -> r.getMatch().getPath() + r.getMatch().getPrefix() + " -> " + r.getRoute().getCluster())
        .containsExactly("/demo.Greeter/SayHello -> " + both, "/demo.Greeter/SayHelloAgain -> " + v2,
            "/demo.Greeter/ -> demo-greeter");
  }

  @Test
  void buildSetClusterNamesDependOnTheSetOnlyAndCarryNoDots() {
    String name = SnapshotBuilder.buildSetCluster("demo-greeter", new TreeSet<>(List.of(V2_BUILD, V1_BUILD)));

    assertThat(name).isEqualTo(SnapshotBuilder.buildSetCluster("demo-greeter", new TreeSet<>(List.of(V1_BUILD, V2_BUILD))))
        .matches("demo-greeter~[0-9a-f]{12}")
        .isNotEqualTo(SnapshotBuilder.buildSetCluster("demo-greeter", new TreeSet<>(List.of(V2_BUILD))));
  }

  @Test
  void anEndpointJoiningAnExistingBuildChangesAssignmentsOnly() {
    XdsResources before = builder.build(fieldScenario(), NodeKind.PROXYLESS);
    XdsResources after = builder.build(fieldScenario(endpoint(50054, Locality.UNKNOWN, 1)), NodeKind.PROXYLESS);

    assertThat(after.routes()).isEqualTo(before.routes());
    assertThat(after.clusters()).isEqualTo(before.clusters());
    assertThat(after.listeners()).isEqualTo(before.listeners());
    assertThat(after.endpoints()).isNotEqualTo(before.endpoints());
  }

  @Test
  void weightsWhoseTotalWouldReach2To31AreScaledDownTogether() {
    RoutableEndpoint heavy = endpoint(50061, Locality.UNKNOWN, Integer.MAX_VALUE);
    RoutableEndpoint heavier = endpoint(50062, Locality.UNKNOWN, Integer.MAX_VALUE);
    RoutableEndpoint heaviest = endpoint(50063, Locality.UNKNOWN, Integer.MAX_VALUE);
    RoutableEndpoint light = endpoint(50064, new Locality("eu", "eu-1b", ""), 1);
    ServiceDecision service = Decisions.oneBuild(policy(), List.of(heavy, heavier, heaviest, light), List.of(),
        "SayHello");

    ClusterLoadAssignment cla = builder.build(decision(service), NodeKind.PROXYLESS).endpoints().stream()
        .filter(c -> !c.getClusterName().equals("demo-greeter")).findFirst().orElseThrow();

    long localitySum = cla.getEndpointsList().stream()
        .mapToLong(l -> Integer.toUnsignedLong(l.getLoadBalancingWeight().getValue())).sum();
    assertThat(localitySum).isLessThanOrEqualTo(Integer.MAX_VALUE);
    assertThat(cla.getEndpointsList()).allSatisfy(locality -> assertThat(locality.getLbEndpointsList().stream()
        .mapToLong(e -> Integer.toUnsignedLong(e.getLoadBalancingWeight().getValue())).sum())
        .isEqualTo(Integer.toUnsignedLong(locality.getLoadBalancingWeight().getValue())));
    assertThat(cla.getEndpointsList()).flatExtracting(l -> l.getLbEndpointsList())
        .extracting(e -> e.getLoadBalancingWeight().getValue())
        .containsExactly(Integer.MAX_VALUE / 4, Integer.MAX_VALUE / 4, Integer.MAX_VALUE / 4, 1);
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
  void serviceNoEndpointQualifiesForRoutesEveryCallToAnEmptyAssignment() {
    ServiceDecision none = Decisions.oneBuild(policy(), List.of(), List.of(), "SayHello");

    XdsResources resources = builder.build(decision(none), NodeKind.PROXYLESS);

    assertThat(resources.endpoints()).singleElement().satisfies(cla -> assertThat(cla.getEndpointsList()).isEmpty());
    assertThat(resources.routes().get(0).getVirtualHosts(0).getRoutesList())
        .extracting(r -> r.getRoute().getCluster()).containsOnly("demo-greeter");
  }

  @Test
  void localitiesGroupEndpointsAndWeighTheirSum() {
    ClusterLoadAssignment cla = builder.build(fieldScenario(), NodeKind.PROXYLESS).endpoints().stream()
        .filter(c -> c.getClusterName().equals(SnapshotBuilder.buildSetCluster("demo-greeter", new TreeSet<>(List.of(V2_BUILD)))))
        .findFirst().orElseThrow();

    assertThat(cla.getEndpointsList()).extracting(l -> l.getLocality().getZone() + "=" + l.getLoadBalancingWeight().getValue())
        .containsExactly("eu-1a=1", "eu-1b=3");
  }

  @Test
  void equalDecisionsBuildEqualResources() {
    assertThat(builder.build(fieldScenario(), NodeKind.ENVOY)).isEqualTo(builder.build(fieldScenario(), NodeKind.ENVOY));
  }

  /** v1 (SayHello) and v2 (SayHello, SayHelloAgain) both live; {@code moreV2} join build v2. */
  private static RoutingDecision fieldScenario(RoutableEndpoint... moreV2) {
    List<RoutableEndpoint> v2 = new java.util.ArrayList<>(List.of(V2_A, V2_B));
    v2.addAll(List.of(moreV2));
    TreeMap<DescriptorHash, List<RoutableEndpoint>> builds = new TreeMap<>(Map.of(V1_BUILD, List.of(V1), V2_BUILD, v2));
    TreeMap<String, MethodRoute> routes = new TreeMap<>(Map.of(
        "SayHello", new MethodRoute("SayHello", Optional.empty(), new TreeSet<>(List.of(V1_BUILD, V2_BUILD))),
        "SayHelloAgain", new MethodRoute("SayHelloAgain", Optional.empty(), new TreeSet<>(List.of(V2_BUILD)))));
    return decision(new ServiceDecision(policy(), Optional.empty(), builds, routes, List.of(), List.of(),
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

  @Test
  void aServiceWhoseDecisionDidNotChangeKeepsItsResourceObjectsAndTheOutputIsWhatBuildingAnewGives() {
    SnapshotBuilder reusing = new SnapshotBuilder("127.0.0.1", 15001);
    SnapshotBuilder anew = SnapshotBuilder.withoutReuse("127.0.0.1", 15001);
    for (NodeKind kind : NodeKind.values()) {
      XdsResources before = reusing.build(twoServices(50051, 50061), kind);

      XdsResources after = reusing.build(twoServices(50051, 50062), kind);

      assertThat(after).isEqualTo(anew.build(twoServices(50051, 50062), kind));
      assertThat(buildSetAssignment(after, "demo-greeter")).isSameAs(buildSetAssignment(before, "demo-greeter"));
      assertThat(buildSetAssignment(after, "demo-other")).isNotEqualTo(buildSetAssignment(before, "demo-other"));
    }
  }

  @Test
  void anEndpointChangeInAServiceKeepsItsClusterRouteAndListenerObjectsAndEnvoysRouteConfiguration() {
    SnapshotBuilder reusing = new SnapshotBuilder("127.0.0.1", 15001);
    SnapshotBuilder anew = SnapshotBuilder.withoutReuse("127.0.0.1", 15001);
    for (NodeKind kind : NodeKind.values()) {
      XdsResources before = reusing.build(twoServices(50051, 50061), kind);

      XdsResources after = reusing.build(twoServices(50051, 50062), kind);

      assertThat(after).isEqualTo(anew.build(twoServices(50051, 50062), kind));
      assertThat(buildSetAssignment(after, "demo-other")).isNotEqualTo(buildSetAssignment(before, "demo-other"));
      for (int i = 0; i < before.clusters().size(); i++) {
        assertThat(after.clusters().get(i)).isSameAs(before.clusters().get(i));
      }
      for (int i = 0; i < before.routes().size(); i++) {
        assertThat(after.routes().get(i)).isSameAs(before.routes().get(i));
      }
      for (int i = 0; i < before.listeners().size(); i++) {
        assertThat(after.listeners().get(i)).isSameAs(before.listeners().get(i));
      }
    }
  }

  /** demo.Greeter at {@code greeterPort} and demo.Other at {@code otherPort}, one build each. */
  private static RoutingDecision twoServices(int greeterPort, int otherPort) {
    TreeMap<String, ServiceDecision> services = new TreeMap<>();
    for (String[] service : new String[][] {{"demo.Greeter", "demo-greeter", "" + greeterPort},
        {"demo.Other", "demo-other", "" + otherPort}}) {
      ServicePolicy policy = new ServicePolicy(service[0], service[1], new Expectation.Newest(),
          ServicePolicy.WhenNoneQualify.FAIL_CLOSED, ServicePolicy.WithoutReflection.TRUST_ADVERTISED, List.of());
      services.put(service[0], Decisions.oneBuild(policy, List.of(new RoutableEndpoint(
          new EndpointAddress("127.0.0.1", Integer.parseInt(service[2])), Locality.UNKNOWN, 1, Optional.empty())),
          List.of(), "SayHello"));
    }
    return new RoutingDecision(Instant.EPOCH, 1, services);
  }

  /** The assignment of the service's (one) build-set cluster, the one holding its endpoints. */
  private static ClusterLoadAssignment buildSetAssignment(XdsResources resources, String cluster) {
    return resources.endpoints().stream().filter(a -> a.getClusterName().startsWith(cluster + "~")).findFirst()
        .orElseThrow();
  }
}
