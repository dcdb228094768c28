package dev.protomatch.admin;

import static org.assertj.core.api.Assertions.assertThat;

import dev.protomatch.decision.MethodRoute;
import dev.protomatch.decision.RoutableEndpoint;
import dev.protomatch.decision.RoutingDecision;
import dev.protomatch.decision.ServiceDecision;
import dev.protomatch.policy.Expectation;
import dev.protomatch.policy.ServicePolicy;
import dev.protomatch.registry.EndpointAddress;
import dev.protomatch.registry.Locality;
import dev.protomatch.testing.Decisions;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.TreeMap;
import java.util.TreeSet;
import org.junit.jupiter.api.Test;

class UnservedMethodLogTest {
  private final List<String> lines = new ArrayList<>();
  private final UnservedMethodLog log = new UnservedMethodLog(lines::add);

  @Test
  void aRequiredMethodNoLiveEndpointServesIsNamedOnceWithWhatIsServed() {
    RoutingDecision typo = decision("SayHello", "SayHelloAgian");

    log.accept(typo);
    log.accept(typo);

    assertThat(lines).containsExactly("demo.Greeter: the policy requires SayHelloAgian, which no live endpoint"
        + " serves: its calls fail closed (live endpoints serve SayHello; a misspelt method name?)");
  }

  @Test
  void itIsNamedAgainOnlyWhenTheSetChanges() {
    log.accept(decision("SayHello", "SayHelloAgian"));
    log.accept(decision("SayHello"));
    log.accept(decision("SayHello", "SayHelloAgian"));

    assertThat(lines).hasSize(2);
  }

  @Test
  void aPolicyAllOfWhoseMethodsAreServedSaysNothing() {
    log.accept(decision("SayHello"));

    assertThat(lines).isEmpty();
  }

  /** demo.Greeter requiring {@code required}; one build serving SayHello only. */
  private static RoutingDecision decision(String... required) {
    ServicePolicy policy = new ServicePolicy("demo.Greeter", "demo-greeter",
        new Expectation.RequiredMethods(new TreeSet<>(List.of(required))), ServicePolicy.WhenNoneQualify.FAIL_CLOSED,
        ServicePolicy.WithoutReflection.TRUST_ADVERTISED, List.of());
    RoutableEndpoint endpoint = new RoutableEndpoint(new EndpointAddress("127.0.0.1", 50051), Locality.UNKNOWN, 1,
        Optional.empty());
    TreeMap<String, MethodRoute> routes = new TreeMap<>();
    routes.put("SayHello", new MethodRoute("SayHello", Optional.empty(), new TreeSet<>(List.of(Decisions.build(1)))));
    for (String method : required) {
      routes.putIfAbsent(method, MethodRoute.unserved(method));
    }
    ServiceDecision service = new ServiceDecision(policy, Optional.empty(),
        new TreeMap<>(Map.of(Decisions.build(1), List.of(endpoint))), routes, List.of(), List.of(),
        routes.values().stream().allMatch(r -> !r.builds().isEmpty()) ? ServiceDecision.Outcome.QUALIFIED
            : ServiceDecision.Outcome.NONE_QUALIFIED_FAIL_CLOSED);
    return new RoutingDecision(Instant.EPOCH, 1, new TreeMap<>(Map.of("demo.Greeter", service)));
  }
}
