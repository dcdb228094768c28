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
import java.util.Comparator;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.SortedMap;
import java.util.TreeMap;
import java.util.TreeSet;

/**
 * The routing decision as a pure function of (policies, registry state, time): no I/O, no clock, no
 * mutable state, so it is tested with plain values, explained field by field in the admin API, and
 * recomputed from scratch whenever an input changes.
 *
 * <p>For each endpoint claiming a service, in order: a lapsed lease, a failed or missing probe (as the
 * policy says), and a disagreement between advertisement and reflection exclude it outright. What is left
 * has a known build (probed, or advertised where the policy trusts advertisements) and is matched
 * against the policy's expectation.
 */
public final class RoutingDecider {
  private RoutingDecider() {}

  public static RoutingDecision decide(PolicyDocument policies, RegistryState state, Instant now) {
    Map<String, List<EndpointState>> claimants = new HashMap<>();
    for (ServicePolicy policy : policies.services()) {
      claimants.put(policy.service(), new ArrayList<>());
    }
    for (EndpointState endpoint : state.endpoints().values()) {
      for (String service : endpoint.advertised().keySet()) {
        List<EndpointState> list = claimants.get(service);
        if (list != null) {
          list.add(endpoint);
        }
      }
    }
    SortedMap<String, ServiceDecision> services = new TreeMap<>();
    for (ServicePolicy policy : policies.services()) {
      services.put(policy.service(), decide(policy, claimants.get(policy.service()), state.apiFirstSeen(), now));
    }
    return new RoutingDecision(now, state.version(), services);
  }

  /** One endpoint's build of the service, as far as it is known. */
  private record Known(EndpointState endpoint, Optional<ServiceFingerprint> fingerprint,
                       Optional<DescriptorHash> api, Optional<DescriptorHash> schema) {
    Optional<DescriptorHash> hash(HashLevel level) {
      return level == HashLevel.API ? api : schema;
    }

    RoutableEndpoint routable() {
      return new RoutableEndpoint(endpoint.address(), endpoint.locality(), endpoint.weight(), api);
    }
  }

  private static ServiceDecision decide(
      ServicePolicy policy, List<EndpointState> endpoints, Map<DescriptorHash, Instant> firstSeen, Instant now) {
    List<ExcludedEndpoint> excluded = new ArrayList<>();
    List<Known> known = new ArrayList<>();
    for (EndpointState endpoint : endpoints) {
      Object assessed = assess(policy, endpoint, now);
      if (assessed instanceof ExclusionReason reason) {
        excluded.add(new ExcludedEndpoint(endpoint.address(), reason));
      } else {
        known.add((Known) assessed);
      }
    }

    Expectation expectation = policy.expect();
    Optional<ServiceFingerprint> expected = expectedSurface(expectation, known, firstSeen);

    List<Known> qualifying = new ArrayList<>();
    List<Known> eligibleForMethods = new ArrayList<>();
    for (Known k : known) {
      ExclusionReason reason = mismatch(expectation, expected, k);
      if (reason == null) {
        qualifying.add(k);
        eligibleForMethods.add(k);
      } else {
        excluded.add(new ExcludedEndpoint(k.endpoint().address(), reason));
        if (!(reason instanceof UnknownSurface)
            && !(reason instanceof HashMismatch mismatch && mismatch.level() == HashLevel.SCHEMA)) {
          eligibleForMethods.add(k);
        }
      }
    }

    ServiceDecision.Outcome outcome = ServiceDecision.Outcome.QUALIFIED;
    List<RoutableEndpoint> included = qualifying.stream().map(Known::routable).toList();
    if (included.isEmpty()) {
      if (policy.whenNoneQualify() == WhenNoneQualify.FAIL_OPEN && !known.isEmpty()) {
        outcome = ServiceDecision.Outcome.NONE_QUALIFIED_FAIL_OPEN;
        included = known.stream().map(Known::routable).toList();
      } else {
        outcome = ServiceDecision.Outcome.NONE_QUALIFIED_FAIL_CLOSED;
      }
    }

    SortedMap<String, List<RoutableEndpoint>> methodEndpoints = new TreeMap<>();
    boolean exactBuildOnly = expectation instanceof Expectation.PinnedHash pin && pin.level() == HashLevel.SCHEMA;
    // Per-method routes follow the expected surface; with required methods and no qualifying build, they
    // follow the newest known build, so methods every build has keep working while the rest fail closed.
    Optional<ServiceFingerprint> routed = expected.isPresent() || !(expectation instanceof Expectation.RequiredMethods)
        ? expected : newest(eligibleForMethods, firstSeen);
    if (routed.isPresent() && outcome != ServiceDecision.Outcome.NONE_QUALIFIED_FAIL_OPEN) {
      for (MethodSignature signature : routed.get().methods().values()) {
        methodEndpoints.put(signature.name(), exactBuildOnly ? included : eligibleForMethods.stream()
            .filter(k -> k.fingerprint().isPresent()
                && signature.equals(k.fingerprint().get().methods().get(signature.name())))
            .map(Known::routable).toList());
      }
      if (expectation instanceof Expectation.RequiredMethods required) {
        required.methods().forEach(method -> methodEndpoints.putIfAbsent(method, List.of()));
      }
    }

    excluded.sort(Comparator.comparing(ExcludedEndpoint::address));
    return new ServiceDecision(policy, expected, included, excluded, methodEndpoints, outcome);
  }

  /** Either an {@link ExclusionReason} that rules the endpoint out whatever the expectation, or a {@link Known}. */
  private static Object assess(ServicePolicy policy, EndpointState endpoint, Instant now) {
    if (endpoint.leaseExpired(now)) {
      return new LeaseExpired(endpoint.lease().orElseThrow().expiresAt());
    }
    String service = policy.service();
    Advertisement advertised = endpoint.advertised().get(service);
    boolean trustAdvertised = policy.withoutReflection() == WithoutReflection.TRUST_ADVERTISED
        && endpoint.source() == EndpointSource.REGISTRATION;
    ProbeState probe = endpoint.probe();
    if (probe instanceof ProbeState.Probed probed) {
      ServiceFingerprint actual = probed.services().get(service);
      if (actual == null) {
        return new Quarantined("registered for " + service + " but its reflection does not list that service");
      }
      for (HashLevel level : HashLevel.values()) {
        Optional<DescriptorHash> claimed = advertised.hash(level);
        if (claimed.isPresent() && !claimed.get().equals(actual.hash(level))) {
          return new Quarantined("advertised " + level.id() + " " + claimed.get() + " but reflection reports "
              + actual.hash(level));
        }
      }
      return new Known(endpoint, Optional.of(actual), Optional.of(actual.api()), Optional.of(actual.schema()));
    }
    if (probe instanceof ProbeState.Failed failed) {
      if (failed.kind() != ReflectionException.Kind.NOT_SUPPORTED) {
        return new ProbeFailed(failed.kind(), failed.message());
      }
      return trustAdvertised ? fromAdvertisement(endpoint, advertised) : new ReflectionUnavailable(failed.message());
    }
    return trustAdvertised ? fromAdvertisement(endpoint, advertised) : new AwaitingProbe();
  }

  private static Known fromAdvertisement(EndpointState endpoint, Advertisement advertised) {
    return new Known(endpoint, advertised.fingerprint(), advertised.api(), advertised.schema());
  }

  /** Why {@code k} does not meet the expectation, or null if it does. */
  private static ExclusionReason mismatch(Expectation expectation, Optional<ServiceFingerprint> expected, Known k) {
    if (expectation instanceof Expectation.PinnedHash pin) {
      Optional<DescriptorHash> actual = k.hash(pin.level());
      if (actual.isEmpty()) {
        return new UnknownSurface("registered without a " + pin.level().id() + " hash and not probed");
      }
      return actual.get().equals(pin.hash()) ? null : new HashMismatch(pin.level(), pin.hash(), actual.get());
    }
    if (k.fingerprint().isEmpty()) {
      return new UnknownSurface("registered with hashes only (no descriptor set) and not probed");
    }
    if (expectation instanceof Expectation.RequiredMethods required) {
      TreeSet<String> missing = new TreeSet<>(required.methods());
      missing.removeAll(k.fingerprint().get().methods().keySet());
      return missing.isEmpty() ? null : new MissingMethods(missing);
    }
    return surfaceMismatch(expected.orElseThrow(), k.fingerprint().get()); // newest
  }

  /** The surface the route expects, if any endpoint shows it. */
  private static Optional<ServiceFingerprint> expectedSurface(
      Expectation expectation, List<Known> known, Map<DescriptorHash, Instant> firstSeen) {
    if (expectation instanceof Expectation.PinnedHash pin) {
      return known.stream()
          .filter(k -> k.fingerprint().isPresent() && k.hash(pin.level()).equals(Optional.of(pin.hash())))
          .map(k -> k.fingerprint().get()).findFirst();
    }
    if (expectation instanceof Expectation.RequiredMethods required) {
      return newest(known.stream()
          .filter(k -> k.fingerprint().isPresent()
              && k.fingerprint().get().methods().keySet().containsAll(required.methods()))
          .toList(), firstSeen);
    }
    return newest(known, firstSeen);
  }

  /** Null if {@code actual} has every method of {@code expected} with the same signature. */
  private static ExclusionReason surfaceMismatch(ServiceFingerprint expected, ServiceFingerprint actual) {
    TreeSet<String> missing = new TreeSet<>();
    SortedMap<String, String> incompatible = new TreeMap<>();
    for (MethodSignature want : expected.methods().values()) {
      MethodSignature have = actual.methods().get(want.name());
      if (have == null) {
        missing.add(want.name());
      } else if (!have.equals(want)) {
        incompatible.put(want.name(), difference(want, have));
      }
    }
    if (!missing.isEmpty()) {
      return new MissingMethods(missing);
    }
    return incompatible.isEmpty() ? null : new IncompatibleMethods(incompatible);
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

  /** The fingerprint whose api hash appeared most recently (ties broken by hash, for determinism). */
  private static Optional<ServiceFingerprint> newest(List<Known> candidates, Map<DescriptorHash, Instant> firstSeen) {
    return candidates.stream()
        .flatMap(k -> k.fingerprint().stream())
        .max(Comparator.<ServiceFingerprint, Instant>comparing(f -> firstSeen.getOrDefault(f.api(), Instant.MIN))
            .thenComparing(f -> f.api().value()));
  }
}
