package dev.protomatch.decision;

import dev.protomatch.descriptor.DescriptorHash;
import dev.protomatch.descriptor.ServiceFingerprint;
import dev.protomatch.policy.ServicePolicy;
import java.util.ArrayList;
import java.util.Collection;
import java.util.Collections;
import java.util.Comparator;
import java.util.List;
import java.util.Optional;
import java.util.SortedMap;
import java.util.SortedSet;
import java.util.TreeMap;
import java.util.TreeSet;

/**
 * The decision for one service: which builds are admitted, and per method which of them take its calls.
 *
 * <p>The invariant every consumer may rely on: for every entry of {@link #routes()}, every build it names
 * serves that method with the route's signature, and {@link #builds()} lists for each admitted build only
 * endpoints of that build. Calls to a method without a route go to {@link #fallback()}, which is empty
 * unless the policy is {@code fail-open} and nothing qualified.
 *
 * @param expected the newest admitted build (see {@link BuildOrder}), when any: the reference surface the
 *     operator views and the change log compare against
 * @param builds admitted builds by api hash, each with its live endpoints in address order
 * @param routes per method some admitted build serves (and per required method), where its calls go
 * @param fallback endpoints for calls to any other method of the service: empty (UNAVAILABLE, retryable)
 *     unless {@link Outcome#NONE_QUALIFIED_FAIL_OPEN}
 * @param excluded every endpoint claiming the service that takes none of its calls, each with its reason
 *     (under {@link Outcome#NONE_QUALIFIED_FAIL_OPEN} also those that did not qualify, though they take calls)
 */
public record ServiceDecision(
    ServicePolicy policy,
    Optional<ServiceFingerprint> expected,
    SortedMap<DescriptorHash, List<RoutableEndpoint>> builds,
    SortedMap<String, MethodRoute> routes,
    List<RoutableEndpoint> fallback,
    List<ExcludedEndpoint> excluded,
    Outcome outcome) {

  public ServiceDecision {
    TreeMap<DescriptorHash, List<RoutableEndpoint>> buildCopy = new TreeMap<>();
    builds.forEach((api, endpoints) -> buildCopy.put(api, List.copyOf(endpoints)));
    builds = Collections.unmodifiableSortedMap(buildCopy);
    routes = Collections.unmodifiableSortedMap(new TreeMap<>(routes));
    fallback = List.copyOf(fallback);
    excluded = List.copyOf(excluded);
  }

  /** Whether endpoints qualified, and if none did, what was published instead. */
  public enum Outcome {
    QUALIFIED,
    /**
     * No build meets the expectation. Pins and {@code newest}: no call is routed (UNAVAILABLE, retryable).
     * Required methods: each method still goes to the builds that serve it, required methods no build
     * serves fail closed, so a policy applied before the build that brings its methods cuts nothing else.
     */
    NONE_QUALIFIED_FAIL_CLOSED,
    /** None qualified; every live endpoint claiming the service takes every call, unfiltered. */
    NONE_QUALIFIED_FAIL_OPEN
  }

  public String service() {
    return policy.service();
  }

  /** The endpoints of these builds, in address order. */
  public List<RoutableEndpoint> endpointsOf(Collection<DescriptorHash> apis) {
    List<RoutableEndpoint> out = new ArrayList<>();
    for (DescriptorHash api : apis) {
      out.addAll(builds.getOrDefault(api, List.of()));
    }
    out.sort(Comparator.comparing(RoutableEndpoint::address));
    return out;
  }

  /** Per routed method, the endpoints taking its calls (empty: the method fails closed). */
  public SortedMap<String, List<RoutableEndpoint>> methodEndpoints() {
    SortedMap<String, List<RoutableEndpoint>> out = new TreeMap<>();
    routes.forEach((method, route) -> out.put(method, endpointsOf(route.builds())));
    return out;
  }

  /**
   * The methods whose calls fail closed (UNAVAILABLE): routed methods no admitted build serves. When no method
   * is routed and there is no fallback, every call of the service fails closed: {@link #failsClosedForEveryMethod}.
   */
  public SortedSet<String> methodsFailingClosed() {
    SortedSet<String> out = new TreeSet<>();
    routes.forEach((method, route) -> {
      if (route.builds().isEmpty() && fallback.isEmpty()) {
        out.add(method);
      }
    });
    return out;
  }

  /** Whether no call of the service reaches an endpoint: no method has a build and there is no fallback. */
  public boolean failsClosedForEveryMethod() {
    return fallback.isEmpty() && routes.values().stream().allMatch(route -> route.builds().isEmpty());
  }

  /** Every endpoint that takes some of the service's calls, in address order. */
  public List<RoutableEndpoint> included() {
    TreeSet<DescriptorHash> routed = new TreeSet<>();
    routes.values().forEach(route -> routed.addAll(route.builds()));
    List<RoutableEndpoint> out = new ArrayList<>(endpointsOf(routed));
    out.addAll(fallback);
    out.sort(Comparator.comparing(RoutableEndpoint::address));
    return out;
  }
}
