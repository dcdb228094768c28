package dev.protomatch.admin;

import dev.protomatch.decision.ExcludedEndpoint;
import dev.protomatch.decision.ExclusionReason;
import dev.protomatch.decision.RoutableEndpoint;
import dev.protomatch.decision.ServiceDecision;
import dev.protomatch.registry.EndpointAddress;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Under {@code when-none-qualify: fail-open}, the decision lists each endpoint that did not qualify twice: in
 * {@link ServiceDecision#fallback()} (it takes every call) and in {@link ServiceDecision#excluded()} (why it did not
 * qualify). The views show such an endpoint once, as taking calls, with that reason kept beside it; this splits the
 * two lists accordingly. Pure; outside fail-open the fallback is empty and nothing moves.
 */
final class FailOpenEndpoints {
  private FailOpenEndpoints() {}

  /** Per endpoint taking every call under fail-open, why it did not qualify (when the decision says). */
  static Map<EndpointAddress, ExclusionReason> unqualified(ServiceDecision service) {
    if (service.fallback().isEmpty()) {
      return Map.of();
    }
    Set<EndpointAddress> fallback = addresses(service.fallback());
    Map<EndpointAddress, ExclusionReason> out = new HashMap<>();
    for (ExcludedEndpoint endpoint : service.excluded()) {
      if (fallback.contains(endpoint.address())) {
        out.put(endpoint.address(), endpoint.reason());
      }
    }
    return out;
  }

  /** The excluded endpoints that take none of the service's calls: those not in the fail-open fallback. */
  static List<ExcludedEndpoint> takingNoCalls(ServiceDecision service) {
    if (service.fallback().isEmpty()) {
      return service.excluded();
    }
    Set<EndpointAddress> fallback = addresses(service.fallback());
    return service.excluded().stream().filter(e -> !fallback.contains(e.address())).toList();
  }

  private static Set<EndpointAddress> addresses(List<RoutableEndpoint> endpoints) {
    Set<EndpointAddress> out = new HashSet<>();
    endpoints.forEach(e -> out.add(e.address()));
    return out;
  }
}
