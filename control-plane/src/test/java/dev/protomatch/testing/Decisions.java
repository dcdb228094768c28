package dev.protomatch.testing;

import dev.protomatch.decision.ExcludedEndpoint;
import dev.protomatch.decision.MethodRoute;
import dev.protomatch.decision.RoutableEndpoint;
import dev.protomatch.decision.ServiceDecision;
import dev.protomatch.descriptor.DescriptorHash;
import dev.protomatch.policy.ServicePolicy;
import java.util.List;
import java.util.Optional;
import java.util.TreeMap;
import java.util.TreeSet;

/** Hand-built service decisions for tests of what consumes them (snapshot builder, metrics, views). */
public final class Decisions {
  /** A made-up api hash standing for one build. */
  public static DescriptorHash build(int n) {
    return DescriptorHash.parse(String.format("sha256:%064x", n));
  }

  private Decisions() {}

  /**
   * One build ({@link #build build(1)}) served by {@code endpoints}, every method routed to it; with no
   * endpoints, every method fails closed.
   */
  public static ServiceDecision oneBuild(ServicePolicy policy, List<RoutableEndpoint> endpoints,
                                         List<ExcludedEndpoint> excluded, String... methods) {
    TreeMap<DescriptorHash, List<RoutableEndpoint>> builds = new TreeMap<>();
    TreeMap<String, MethodRoute> routes = new TreeMap<>();
    if (!endpoints.isEmpty()) {
      builds.put(build(1), endpoints);
    }
    for (String method : methods) {
      routes.put(method, endpoints.isEmpty() ? MethodRoute.unserved(method)
          : new MethodRoute(method, Optional.empty(), new TreeSet<>(List.of(build(1)))));
    }
    return new ServiceDecision(policy, Optional.empty(), builds, routes, List.of(), excluded,
        endpoints.isEmpty() ? ServiceDecision.Outcome.NONE_QUALIFIED_FAIL_CLOSED : ServiceDecision.Outcome.QUALIFIED);
  }
}
