package dev.protomatch.xds;

import static org.assertj.core.api.Assertions.assertThat;

import dev.protomatch.decision.RoutableEndpoint;
import dev.protomatch.decision.RoutingDecision;
import dev.protomatch.decision.ServiceDecision;
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
    ServiceDecision greeter = new ServiceDecision(policy("demo.Greeter", "demo-greeter", "SayHello", "SayHelloAgain"),
        Optional.empty(), List.of(V2_A, V2_B), List.of(),
        new TreeMap<>(Map.of("SayHello", List.of(V1, V2_A, V2_B), "SayHelloAgain", List.of(V2_A, V2_B))),
        ServiceDecision.Outcome.QUALIFIED);
    ServiceDecision catalog = new ServiceDecision(policy("shop.Catalog", "shop-catalog", "List"), Optional.empty(),
        List.of(CATALOG), List.of(), new TreeMap<>(Map.of("List", List.of(CATALOG))),
        ServiceDecision.Outcome.QUALIFIED);
    ServiceDecision none = new ServiceDecision(policy("shop.Cart", "shop-cart", "Add"), Optional.empty(), List.of(),
        List.of(), new TreeMap<>(), ServiceDecision.Outcome.NONE_QUALIFIED_FAIL_CLOSED);
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
