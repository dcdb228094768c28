package dev.protomatch.decision;

import dev.protomatch.descriptor.ServiceFingerprint;
import dev.protomatch.policy.ServicePolicy;
import java.util.Collections;
import java.util.List;
import java.util.Optional;
import java.util.SortedMap;
import java.util.TreeMap;

/**
 * The decision for one service.
 *
 * @param expected the surface the route expects, when known: the newest build for {@code newest}, the
 *     pinned build once an endpoint serving it is known, the newest qualifying build for required methods
 * @param included endpoints for the service's cluster (its default route)
 * @param excluded every other endpoint claiming the service, each with its reason
 * @param methodEndpoints per method of the expected surface, the endpoints that serve that method with the
 *     same signature: builds excluded only for lacking <em>other</em> methods keep taking this method's
 *     calls, so a rolling upgrade keeps full capacity for methods every build has. With required methods
 *     and no qualifying build, methods of the newest known build still go to the builds that have them,
 *     and required methods no build has map to no endpoints (UNAVAILABLE, retryable). A schema pin sends
 *     every method to the pinned build only. Empty when no build is known.
 */
public record ServiceDecision(
    ServicePolicy policy,
    Optional<ServiceFingerprint> expected,
    List<RoutableEndpoint> included,
    List<ExcludedEndpoint> excluded,
    SortedMap<String, List<RoutableEndpoint>> methodEndpoints,
    Outcome outcome) {

  public ServiceDecision {
    included = List.copyOf(included);
    excluded = List.copyOf(excluded);
    TreeMap<String, List<RoutableEndpoint>> copy = new TreeMap<>();
    methodEndpoints.forEach((method, endpoints) -> copy.put(method, List.copyOf(endpoints)));
    methodEndpoints = Collections.unmodifiableSortedMap(copy);
  }

  /** Whether endpoints qualified, and if none did, what was published instead. */
  public enum Outcome {
    QUALIFIED,
    /** None qualified; nothing is published, callers get UNAVAILABLE (retryable). */
    NONE_QUALIFIED_FAIL_CLOSED,
    /** None qualified; every live endpoint claiming the service is published, unfiltered. */
    NONE_QUALIFIED_FAIL_OPEN
  }

  public String service() {
    return policy.service();
  }
}
