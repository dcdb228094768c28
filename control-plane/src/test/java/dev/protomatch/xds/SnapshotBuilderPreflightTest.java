package dev.protomatch.xds;

import static org.assertj.core.api.Assertions.assertThat;

import dev.protomatch.decision.RoutableEndpoint;
import dev.protomatch.decision.RoutingDecision;
import dev.protomatch.decision.MethodRoute;
import dev.protomatch.decision.ServiceDecision;
import dev.protomatch.descriptor.DescriptorHash;
import dev.protomatch.testing.Decisions;
import dev.protomatch.policy.Expectation;
import dev.protomatch.policy.ServicePolicy;
import dev.protomatch.registry.EndpointAddress;
import dev.protomatch.registry.Locality;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.TreeMap;
import java.util.TreeSet;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/** What SnapshotBuilder publishes keeps Envoy's own rules, for both node kinds. */
class SnapshotBuilderPreflightTest {
  private static final RoutableEndpoint V1 = endpoint(50051, new Locality("eu", "eu-1a", ""), 1);
  private static final RoutableEndpoint V2_A = endpoint(50052, new Locality("eu", "eu-1a", ""), 1);
  private static final RoutableEndpoint V2_B = endpoint(50053, new Locality("eu", "eu-1b", "rack-7"), 3);
  private static final RoutableEndpoint CATALOG = endpoint(50061, new Locality("", "", ""), 100);

  private final EnvoyRulesPreflight preflight = new EnvoyRulesPreflight();

  @ParameterizedTest
  @EnumSource(NodeKind.class)
  void aRealisticDecisionPasses(NodeKind kind) {
    XdsResources resources = new SnapshotBuilder("127.0.0.1", 15001).build(decision(), kind);

    assertThat(resources.clusters()).hasSizeGreaterThan(2); // a method cluster and an empty assignment too
    assertThat(preflight.problems(kind, resources)).isEmpty();
  }

  private static RoutingDecision decision() {
    DescriptorHash v1 = Decisions.build(1);
    DescriptorHash v2 = Decisions.build(2);
    ServiceDecision greeter = new ServiceDecision(policy("demo.Greeter", "demo-greeter", "SayHello", "SayHelloAgain"),
        Optional.empty(), new TreeMap<>(Map.of(v1, List.of(V1), v2, List.of(V2_A, V2_B))),
        new TreeMap<>(Map.of(
            "SayHello", new MethodRoute("SayHello", Optional.empty(), new TreeSet<>(List.of(v1, v2))),
            "SayHelloAgain", new MethodRoute("SayHelloAgain", Optional.empty(), new TreeSet<>(List.of(v2))))),
        List.of(), List.of(), ServiceDecision.Outcome.QUALIFIED);
    ServiceDecision catalog = Decisions.oneBuild(policy("shop.Catalog", "shop-catalog", "List"), List.of(CATALOG),
        List.of(), "List");
    ServiceDecision none = Decisions.oneBuild(policy("shop.Cart", "shop-cart", "Add"), List.of(), List.of(), "Add");
    return new RoutingDecision(Instant.EPOCH, 1, new TreeMap<>(Map.of(
        greeter.service(), greeter, catalog.service(), catalog, none.service(), none)));
  }

  private static ServicePolicy policy(String service, String cluster, String... methods) {
    return new ServicePolicy(service, cluster, new Expectation.RequiredMethods(new TreeSet<>(List.of(methods))),
        ServicePolicy.WhenNoneQualify.FAIL_CLOSED, ServicePolicy.WithoutReflection.TRUST_ADVERTISED, List.of());
  }

  private static RoutableEndpoint endpoint(int port, Locality locality, int weight) {
    return new RoutableEndpoint(new EndpointAddress("127.0.0.1", port), locality, weight, Optional.empty());
  }
}
