package dev.protomatch.decision;

import dev.protomatch.decision.ExclusionReason.AwaitingProbe;
import dev.protomatch.decision.ExclusionReason.HashMismatch;
import dev.protomatch.decision.ExclusionReason.IncompatibleMethods;
import dev.protomatch.decision.ExclusionReason.LeaseExpired;
import dev.protomatch.decision.ExclusionReason.MissingMethods;
import dev.protomatch.decision.ExclusionReason.ProbeFailed;
import dev.protomatch.decision.ExclusionReason.Quarantined;
import dev.protomatch.decision.ExclusionReason.ReflectionUnavailable;
import dev.protomatch.decision.ExclusionReason.UnknownSurface;
import dev.protomatch.descriptor.DescriptorHash;
import dev.protomatch.descriptor.HashLevel;
import dev.protomatch.descriptor.MethodSignature;
import dev.protomatch.descriptor.ServiceFingerprint;
import dev.protomatch.policy.Expectation;
import dev.protomatch.policy.PolicyDocument;
import dev.protomatch.policy.ServicePolicy;
import dev.protomatch.policy.ServicePolicy.WhenNoneQualify;
import dev.protomatch.policy.ServicePolicy.WithoutReflection;
import dev.protomatch.probe.ReflectionException;
import dev.protomatch.registry.Advertisement;
import dev.protomatch.registry.EndpointSource;
import dev.protomatch.registry.EndpointState;
import dev.protomatch.registry.ProbeState;
import dev.protomatch.registry.RegistryState;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Collections;
import java.util.Comparator;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.SortedMap;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.function.Function;

/**
 * The routing decision as a pure function of (policies, registry state, time): no I/O, no clock, no
 * mutable state, so it is tested with plain values, explained field by field in the admin API, and
 * recomputed from scratch whenever an input changes.
 *
 * <p>The guarantee, by construction: a call to {@code /pkg.Service/M} is routed only to builds that serve
 * {@code M} with the signature its route names ({@link MethodRoute}); a method no admitted build serves
 * fails closed. It depends only on the set of live builds, never on the order they appeared in, so a
 * restart of protomatch decides the same. Only {@code fail-open} gives it up, and only when nothing
 * qualifies.
 *
 * <p>For each endpoint claiming a service, in order: a lapsed lease, a failed or missing probe (as the
 * policy says), and a disagreement between advertisement and reflection exclude it outright. What is left
 * has a build whose method surface is known (probed, advertised with its descriptor set where the policy
 * trusts advertisements, or advertised by api hash that another endpoint showed the surface of); an
 * endpoint whose surface is unknown takes no calls, since it might lack any method. The policy then
 * admits builds (a pin: that one build; required methods: builds serving all of them; {@code newest}:
 * all), and every method an admitted build serves is routed to the admitted builds serving it with the
 * newest such build's signature ({@link BuildOrder}).
 */
public final class RoutingDecider {
  private RoutingDecider() {}

  public static RoutingDecision decide(PolicyDocument policies, RegistryState state, Instant now) {
    return decide(policies, state, now, service -> Optional.empty());
  }

  /**
   * The same decision as {@link #decide(PolicyDocument, RegistryState, Instant)}, computed again only for the
   * services in {@code touched}: every other service keeps its {@link ServiceDecision} from {@code previous}
   * (the same object). Equal to the full decision when {@code previous} was decided under the same policies
   * and every service whose claimants differ between the two states, or whose claimants' leases ran out in
   * between, is in {@code touched} ({@link RegistryChanges#touchedServices} computes that set).
   */
  public static RoutingDecision decide(PolicyDocument policies, RegistryState state, Instant now,
                                       RoutingDecision previous, Set<String> touched) {
    return decide(policies, state, now, service -> touched.contains(service)
        ? Optional.empty() : Optional.ofNullable(previous.services().get(service)));
  }

  /** Decides every service {@code kept} has no decision for; the others keep the one it gives. */
  private static RoutingDecision decide(PolicyDocument policies, RegistryState state, Instant now,
                                        Function<String, Optional<ServiceDecision>> kept) {
    SortedMap<String, ServiceDecision> services = new TreeMap<>();
    Map<String, List<EndpointState>> claimants = new HashMap<>();
    for (ServicePolicy policy : policies.services()) {
      kept.apply(policy.service()).ifPresentOrElse(decision -> services.put(policy.service(), decision),
          () -> claimants.put(policy.service(), new ArrayList<>()));
    }
    if (!claimants.isEmpty()) {
      for (EndpointState endpoint : state.endpoints().values()) {
        for (String service : endpoint.advertised().keySet()) {
          List<EndpointState> list = claimants.get(service);
          if (list != null) {
            list.add(endpoint);
          }
        }
      }
    }
    for (ServicePolicy policy : policies.services()) {
      List<EndpointState> list = claimants.get(policy.service());
      if (list != null) {
        services.put(policy.service(), decide(policy, list, now));
      }
    }
    return new RoutingDecision(now, state.version(), services);
  }

  /** What the first look at an endpoint found: ruled out whatever the expectation, or a build to match. */
  private sealed interface Assessment {}

  private record Ruled(ExclusionReason reason) implements Assessment {}

  /** One endpoint's build of the service, as far as it is known. */
  private record Known(EndpointState endpoint, Optional<ServiceFingerprint> fingerprint,
                       Optional<DescriptorHash> api, Optional<DescriptorHash> schema) implements Assessment {
    Optional<DescriptorHash> hash(HashLevel level) {
      return level == HashLevel.API ? api : schema;
    }

    RoutableEndpoint routable() {
      return new RoutableEndpoint(endpoint.address(), endpoint.locality(), endpoint.weight(), api);
    }
  }

  /** A known endpoint whose method surface is known too. */
  private record Candidate(Known known, ServiceFingerprint surface) {}

  private static ServiceDecision decide(ServicePolicy policy, List<EndpointState> endpoints, Instant now) {
    List<ExcludedEndpoint> excluded = new ArrayList<>();
    List<Known> known = new ArrayList<>();
    for (EndpointState endpoint : endpoints) {
      Assessment assessment = assess(policy, endpoint, now);
      if (assessment instanceof Ruled ruled) {
        excluded.add(new ExcludedEndpoint(endpoint.address(), ruled.reason()));
      } else {
        known.add((Known) assessment);
      }
    }

    // An api hash names one method surface, so an endpoint that advertised only its hash has the surface
    // another endpoint of that hash showed.
    Map<DescriptorHash, ServiceFingerprint> surfaces = new HashMap<>();
    known.forEach(k -> k.fingerprint().ifPresent(f -> surfaces.putIfAbsent(f.api(), f)));

    Expectation expectation = policy.expect();
    List<Candidate> admitted = new ArrayList<>();
    List<Candidate> refused = new ArrayList<>();
    List<ExcludedEndpoint> refusals = new ArrayList<>();
    for (Known k : known) {
      Optional<ServiceFingerprint> surface = k.fingerprint().or(() -> k.api().map(surfaces::get));
      ExclusionReason reason = surface.isPresent()
          ? admission(expectation, k, surface.get())
          : unknownSurface(expectation, k);
      if (reason == null) {
        admitted.add(new Candidate(k, surface.get()));
      } else {
        refusals.add(new ExcludedEndpoint(k.endpoint().address(), reason));
        surface.ifPresent(s -> refused.add(new Candidate(k, s)));
      }
    }

    ServiceDecision.Outcome outcome = ServiceDecision.Outcome.QUALIFIED;
    if (admitted.isEmpty()) {
      if (policy.whenNoneQualify() == WhenNoneQualify.FAIL_OPEN && !known.isEmpty()) {
        excluded.addAll(refusals); // why none qualified, although they now take calls
        excluded.sort(Comparator.comparing(ExcludedEndpoint::address));
        return new ServiceDecision(policy, Optional.empty(), Collections.emptySortedMap(),
            Collections.emptySortedMap(), known.stream().map(Known::routable).toList(), excluded,
            ServiceDecision.Outcome.NONE_QUALIFIED_FAIL_OPEN);
      }
      outcome = ServiceDecision.Outcome.NONE_QUALIFIED_FAIL_CLOSED;
      if (expectation instanceof Expectation.RequiredMethods) {
        // Nothing has every required method: each build keeps the calls it can answer, and required
        // methods no build serves fail closed. A policy applied ahead of the build that brings its
        // methods cuts nothing that works today.
        admitted = refused;
        refusals.removeIf(r -> r.reason() instanceof MissingMethods);
      }
    }
    excluded.addAll(refusals);

    SortedMap<DescriptorHash, ServiceFingerprint> builds = new TreeMap<>();
    SortedMap<DescriptorHash, List<RoutableEndpoint>> buildEndpoints = new TreeMap<>();
    for (Candidate c : admitted) {
      builds.putIfAbsent(c.surface().api(), c.surface());
      buildEndpoints.computeIfAbsent(c.surface().api(), api -> new ArrayList<>()).add(c.known().routable());
    }
    SortedMap<String, MethodRoute> routes = routes(builds.values());
    if (expectation instanceof Expectation.RequiredMethods required) {
      required.methods().forEach(method -> routes.putIfAbsent(method, MethodRoute.unserved(method)));
    }

    // A build that lost every one of its methods to another build's signature takes no calls.
    TreeSet<DescriptorHash> routed = new TreeSet<>();
    routes.values().forEach(route -> routed.addAll(route.builds()));
    for (DescriptorHash api : List.copyOf(builds.keySet())) {
      if (!routed.contains(api)) {
        ExclusionReason reason = incompatibility(routes, builds.get(api));
        buildEndpoints.remove(api).forEach(e -> excluded.add(new ExcludedEndpoint(e.address(), reason)));
        builds.remove(api);
      }
    }
    buildEndpoints.values().forEach(list -> list.sort(Comparator.comparing(RoutableEndpoint::address)));

    excluded.sort(Comparator.comparing(ExcludedEndpoint::address));
    Optional<ServiceFingerprint> newest = builds.values().stream().max(BuildOrder.OLDEST_FIRST);
    return new ServiceDecision(policy, newest, buildEndpoints, routes, List.of(), excluded, outcome);
  }

  /**
   * Per method any of {@code builds} serves: the builds serving it with the newest such build's signature.
   */
  private static SortedMap<String, MethodRoute> routes(java.util.Collection<ServiceFingerprint> builds) {
    SortedMap<String, List<ServiceFingerprint>> servers = new TreeMap<>();
    for (ServiceFingerprint build : builds) {
      build.methods().keySet().forEach(method -> servers.computeIfAbsent(method, m -> new ArrayList<>()).add(build));
    }
    SortedMap<String, MethodRoute> routes = new TreeMap<>();
    servers.forEach((method, candidates) -> {
      MethodSignature signature = candidates.stream().max(BuildOrder.OLDEST_FIRST).orElseThrow().methods().get(method);
      TreeSet<DescriptorHash> serving = new TreeSet<>();
      candidates.stream().filter(b -> signature.equals(b.methods().get(method))).forEach(b -> serving.add(b.api()));
      routes.put(method, new MethodRoute(method, Optional.of(signature), serving));
    });
    return routes;
  }

  /** Why a build none of whose methods is routed to it takes no calls: its signatures differ from the routes'. */
  private static ExclusionReason incompatibility(SortedMap<String, MethodRoute> routes, ServiceFingerprint build) {
    SortedMap<String, String> differences = new TreeMap<>();
    for (MethodSignature have : build.methods().values()) {
      MethodRoute route = routes.get(have.name());
      if (route != null && route.signature().isPresent()) {
        differences.put(have.name(), difference(route.signature().get(), have));
      }
    }
    return new IncompatibleMethods(differences);
  }

  /** Either an {@link ExclusionReason} that rules the endpoint out whatever the expectation, or a {@link Known}. */
  private static Assessment assess(ServicePolicy policy, EndpointState endpoint, Instant now) {
    if (endpoint.leaseExpired(now)) {
      return new Ruled(new LeaseExpired(endpoint.lease().orElseThrow().expiresAt()));
    }
    String service = policy.service();
    Advertisement advertised = endpoint.advertised().get(service);
    boolean trustAdvertised = policy.withoutReflection() == WithoutReflection.TRUST_ADVERTISED
        && endpoint.source() == EndpointSource.REGISTRATION;
    ProbeState probe = endpoint.probe();
    if (probe instanceof ProbeState.Probed probed) {
      ServiceFingerprint actual = probed.services().get(service);
      if (actual == null) {
        return new Ruled(new Quarantined(
            "registered for " + service + " but its reflection does not list that service"));
      }
      for (HashLevel level : HashLevel.values()) {
        Optional<DescriptorHash> claimed = advertised.hash(level);
        if (claimed.isPresent() && !claimed.get().equals(actual.hash(level))) {
          return new Ruled(new Quarantined("advertised " + level.id() + " " + claimed.get()
              + " but reflection reports " + actual.hash(level)));
        }
      }
      return new Known(endpoint, Optional.of(actual), Optional.of(actual.api()), Optional.of(actual.schema()));
    }
    if (probe instanceof ProbeState.Failed failed) {
      if (failed.kind() != ReflectionException.Kind.NOT_SUPPORTED) {
        return new Ruled(new ProbeFailed(failed.kind(), failed.message()));
      }
      return trustAdvertised ? fromAdvertisement(endpoint, advertised) : new Ruled(
          new ReflectionUnavailable(failed.message(), endpoint.source() == EndpointSource.STATIC));
    }
    return trustAdvertised ? fromAdvertisement(endpoint, advertised) : new Ruled(new AwaitingProbe());
  }

  private static Known fromAdvertisement(EndpointState endpoint, Advertisement advertised) {
    return new Known(endpoint, advertised.fingerprint(), advertised.api(), advertised.schema());
  }

  /** Why the build {@code k} serves ({@code surface}) is not admitted, or null if it is. */
  private static ExclusionReason admission(Expectation expectation, Known k, ServiceFingerprint surface) {
    if (expectation instanceof Expectation.PinnedHash pin) {
      return pinMismatch(pin, k);
    }
    if (expectation instanceof Expectation.RequiredMethods required) {
      TreeSet<String> missing = new TreeSet<>(required.methods());
      missing.removeAll(surface.methods().keySet());
      return missing.isEmpty() ? null : new MissingMethods(missing);
    }
    return null; // newest admits every build

  }

  /** Why an endpoint whose method surface is unknown takes no calls. */
  private static ExclusionReason unknownSurface(Expectation expectation, Known k) {
    if (expectation instanceof Expectation.PinnedHash pin) {
      ExclusionReason mismatch = pinMismatch(pin, k);
      if (mismatch != null) {
        return mismatch;
      }
      return new UnknownSurface("its " + pin.level().id() + " hash is the pinned one, but no endpoint has shown"
          + " that build's methods yet (registered with hashes only and not probed)");
    }
    return new UnknownSurface("registered with hashes only (no descriptor set) and not probed");
  }

  private static ExclusionReason pinMismatch(Expectation.PinnedHash pin, Known k) {
    Optional<DescriptorHash> actual = k.hash(pin.level());
    if (actual.isEmpty()) {
      return new UnknownSurface("registered without a " + pin.level().id() + " hash and not probed");
    }
    return actual.get().equals(pin.hash()) ? null : new HashMismatch(pin.level(), pin.hash(), actual.get());
  }

  private static String difference(MethodSignature want, MethodSignature have) {
    List<String> parts = new ArrayList<>();
    if (!want.inputType().equals(have.inputType())) {
      parts.add("request " + have.inputType() + ", expected " + want.inputType());
    }
    if (!want.outputType().equals(have.outputType())) {
      parts.add("response " + have.outputType() + ", expected " + want.outputType());
    }
    if (!want.streamingKind().equals(have.streamingKind())) {
      parts.add(have.streamingKind() + ", expected " + want.streamingKind());
    }
    return String.join(", ", parts);
  }
}
