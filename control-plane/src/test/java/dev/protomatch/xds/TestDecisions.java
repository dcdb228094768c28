package dev.protomatch.xds;

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

/** Routing decisions for publishing tests: demo.Greeter in one cluster, on loopback ports. */
final class TestDecisions {
  private TestDecisions() {}

  static RoutingDecision greeter(int... ports) {
    return greeter("demo-greeter", ports);
  }

  static RoutingDecision greeter(String cluster, int... ports) {
    List<RoutableEndpoint> endpoints = new ArrayList<>();
    for (int port : ports) {
      endpoints.add(new RoutableEndpoint(new EndpointAddress("127.0.0.1", port), Locality.UNKNOWN, 1, Optional.empty()));
    }
    ServicePolicy policy = new ServicePolicy("demo.Greeter", cluster,
        new Expectation.RequiredMethods(new TreeSet<>(List.of("SayHello"))),
        ServicePolicy.WhenNoneQualify.FAIL_CLOSED, ServicePolicy.WithoutReflection.TRUST_ADVERTISED, List.of());
    ServiceDecision service = Decisions.oneBuild(policy, endpoints, List.of(), "SayHello");
    return new RoutingDecision(Instant.EPOCH, 1, new TreeMap<>(Map.of("demo.Greeter", service)));
  }
}
