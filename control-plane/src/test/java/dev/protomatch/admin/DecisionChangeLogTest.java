package dev.protomatch.admin;

import static org.assertj.core.api.Assertions.assertThat;

import dev.protomatch.decision.RoutingDecider;
import dev.protomatch.decision.RoutingDecision;
import dev.protomatch.descriptor.HashLevel;
import dev.protomatch.descriptor.ServiceFingerprint;
import dev.protomatch.policy.Expectation;
import dev.protomatch.policy.PolicyDocument;
import dev.protomatch.policy.ServicePolicy;
import dev.protomatch.policy.Settings;
import dev.protomatch.probe.ReflectionProtocol;
import dev.protomatch.registry.Advertisement;
import dev.protomatch.registry.EndpointAddress;
import dev.protomatch.registry.EndpointSource;
import dev.protomatch.registry.EndpointState;
import dev.protomatch.registry.Lease;
import dev.protomatch.registry.Locality;
import dev.protomatch.registry.ProbeState;
import dev.protomatch.registry.RegistryState;
import dev.protomatch.testing.Fingerprints;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import org.junit.jupiter.api.Test;

/** The routing history in the log: one line per change, in the operator's words. */
class DecisionChangeLogTest {
  private static final Instant NOW = Instant.parse("2026-01-02T00:00:00Z");
  private static final PolicyDocument POLICY = new PolicyDocument(Settings.defaults(), List.of(new ServicePolicy(
      "demo.Greeter", "demo-greeter", new Expectation.RequiredMethods(new TreeSet<>(List.of("SayHello", "SayHelloAgain"))),
      ServicePolicy.WhenNoneQualify.FAIL_CLOSED, ServicePolicy.WithoutReflection.TRUST_ADVERTISED, List.of())));

  /** A required method misspelt: no build serves it, so its calls fail closed and the others stay routed. */
  private static final PolicyDocument MISSPELT = policy(
      new Expectation.RequiredMethods(new TreeSet<>(List.of("SayHello", "SayHelloAgian"))),
      ServicePolicy.WhenNoneQualify.FAIL_CLOSED);
  private static final String V1 = Fingerprints.greeterV1().api().abbreviated(8);
  private static final String V2 = Fingerprints.greeterV2().api().abbreviated(8);

  private final List<String> lines = new ArrayList<>();
  private RegistryState state;
  private final DecisionChangeLog log = new DecisionChangeLog(() -> state, lines::add);

  @Test
  void exclusionNamesBothBuildsAndTheMissingMethods() {
    state = state(endpoint(50051, Fingerprints.greeterV1()), endpoint(50052, Fingerprints.greeterV2()));

    log.accept(RoutingDecider.decide(POLICY, state, NOW));

    assertThat(lines).containsExactly(
        "demo.Greeter: excluded 127.0.0.1:50051 (api " + Fingerprints.greeterV1().api().value().substring(0, 15)
            + ".. != expected " + Fingerprints.greeterV2().api().abbreviated(8) + "..; missing [SayHelloAgain])",
        "demo.Greeter: included 127.0.0.1:50052 (api " + Fingerprints.greeterV2().api().abbreviated(8) + "..)");
  }

  @Test
  void unchangedDecisionLogsNothing() {
    state = state(endpoint(50052, Fingerprints.greeterV2()));
    log.accept(RoutingDecider.decide(POLICY, state, NOW));
    lines.clear();

    log.accept(RoutingDecider.decide(POLICY, state, NOW.plusSeconds(1)));

    assertThat(lines).isEmpty();
  }

  @Test
  void endpointThatLeavesIsLoggedOnce() {
    state = state(endpoint(50052, Fingerprints.greeterV2()));
    log.accept(RoutingDecider.decide(POLICY, state, NOW));
    lines.clear();

    state = state();
    log.accept(RoutingDecider.decide(POLICY, state, NOW));

    assertThat(lines).filteredOn(line -> line.contains("127.0.0.1:50052"))
        .containsExactly("demo.Greeter: gone 127.0.0.1:50052");
  }

  @Test
  void endpointTakingSomeMethodsIsLoggedAsIncludedForThoseMethods() {
    state = state(endpoint(50051, Fingerprints.greeterV1()), endpoint(50052, Fingerprints.greeterV2()));

    log.accept(RoutingDecider.decide(policy(new Expectation.Newest(), ServicePolicy.WhenNoneQualify.FAIL_CLOSED),
        state, NOW));

    assertThat(lines).containsExactly(
        "demo.Greeter: included 127.0.0.1:50051 for SayHello only (api " + V1 + "..)",
        "demo.Greeter: included 127.0.0.1:50052 (api " + V2 + "..)");
  }

  @Test
  void endpointSharingMethodsWhenNoneHasEveryRequiredOneIsNotLoggedAsExcluded() {
    state = state(endpoint(50051, Fingerprints.greeterV1()), endpoint(50052, Fingerprints.greeterV2()));

    log.accept(RoutingDecider.decide(MISSPELT, state, NOW));

    assertThat(lines).contains("demo.Greeter: included 127.0.0.1:50051 for SayHello only (api " + V1 + "..)")
        .noneMatch(line -> line.contains("excluded"));
  }

  @Test
  void methodsFailingClosedAreNamed() {
    state = state(endpoint(50051, Fingerprints.greeterV1()), endpoint(50052, Fingerprints.greeterV2()));

    log.accept(RoutingDecider.decide(MISSPELT, state, NOW));

    assertThat(lines).endsWith("demo.Greeter: calls to SayHelloAgian fail closed (UNAVAILABLE): no live build the"
        + " policy admits serves it; the other methods are routed");
  }

  @Test
  void unchangedMethodsFailingClosedAreNotRepeated() {
    state = state(endpoint(50051, Fingerprints.greeterV1()), endpoint(50052, Fingerprints.greeterV2()));
    log.accept(RoutingDecider.decide(MISSPELT, state, NOW));
    lines.clear();

    log.accept(RoutingDecider.decide(MISSPELT, state, NOW.plusSeconds(1)));

    assertThat(lines).isEmpty();
  }

  @Test
  void methodsFailingClosedClearingIsSaid() {
    state = state(endpoint(50051, Fingerprints.greeterV1()), endpoint(50052, Fingerprints.greeterV2()));
    log.accept(RoutingDecider.decide(MISSPELT, state, NOW));
    lines.clear();

    log.accept(RoutingDecider.decide(POLICY, state, NOW));

    assertThat(lines).contains("demo.Greeter: no call fails closed any more");
  }

  @Test
  void changedSetOfMethodsFailingClosedNamesTheNewSet() {
    state = state(endpoint(50051, Fingerprints.greeterV1()));
    log.accept(RoutingDecider.decide(POLICY, state, NOW)); // v1 alone: SayHelloAgain has no endpoint
    lines.clear();

    log.accept(RoutingDecider.decide(MISSPELT, state, NOW));

    assertThat(lines).containsExactly("demo.Greeter: calls to SayHelloAgian fail closed (UNAVAILABLE): no live build"
        + " the policy admits serves it; the other methods are routed");
  }

  @Test
  void serviceWithoutAnyRoutedCallSaysEveryCallFailsClosed() {
    state = state(endpoint(50051, Fingerprints.greeterV1()));

    log.accept(RoutingDecider.decide(policy(new Expectation.PinnedHash(HashLevel.API, Fingerprints.greeterV2().api()),
        ServicePolicy.WhenNoneQualify.FAIL_CLOSED), state, NOW));

    assertThat(lines).contains(
        "demo.Greeter: every call fails closed (UNAVAILABLE): no live endpoint takes any of its calls");
  }

  @Test
  void failOpenEndpointIsLoggedAsTakingEveryCallNotAsExcluded() {
    state = state(endpoint(50051, Fingerprints.greeterV1()));

    log.accept(RoutingDecider.decide(policy(new Expectation.PinnedHash(HashLevel.API, Fingerprints.greeterV2().api()),
        ServicePolicy.WhenNoneQualify.FAIL_OPEN), state, NOW));

    assertThat(lines).contains("demo.Greeter: included 127.0.0.1:50051 for every call, unchecked (fail-open; api "
            + V1 + ".."  + "; did not qualify: hash mismatch: expected api " + Fingerprints.greeterV2().api() + ", got "
            + Fingerprints.greeterV1().api() + ")")
        .noneMatch(line -> line.contains("excluded"));
  }

  @Test
  void sameServiceDecisionObjectLogsNothingNew() {
    state = state(endpoint(50051, Fingerprints.greeterV1()), endpoint(50052, Fingerprints.greeterV2()));
    RoutingDecision first = RoutingDecider.decide(POLICY, state, NOW);
    log.accept(first);
    lines.clear();

    RoutingDecision kept = RoutingDecider.decide(POLICY, state, NOW.plusSeconds(1), first, Set.of());
    assertThat(kept.services().get("demo.Greeter")).isSameAs(first.services().get("demo.Greeter"));
    log.accept(kept);

    assertThat(lines).isEmpty();
  }

  @Test
  void changedServiceDecisionStillLogs() {
    state = state(endpoint(50051, Fingerprints.greeterV1()), endpoint(50052, Fingerprints.greeterV2()));
    RoutingDecision first = RoutingDecider.decide(POLICY, state, NOW);
    log.accept(first);
    lines.clear();

    state = state(endpoint(50051, Fingerprints.greeterV1()), endpoint(50052, Fingerprints.greeterV2()),
        endpoint(50053, Fingerprints.greeterV2()));
    RoutingDecision changed = RoutingDecider.decide(POLICY, state, NOW, first, Set.of("demo.Greeter"));
    assertThat(changed.services().get("demo.Greeter")).isNotSameAs(first.services().get("demo.Greeter"));
    log.accept(changed);

    assertThat(lines).containsExactly("demo.Greeter: included 127.0.0.1:50053 (api " + V2 + "..)");
  }

  /**
   * The log reads the registry when it runs, possibly after the decision was made: an api it printed for an
   * excluded endpoint that the registry now gives otherwise is said again although the decision object is kept.
   */
  @Test
  void keptServiceDecisionIsLoggedAgainWhenTheApiItPrintedChanged() {
    state = state(endpoint(50051, Fingerprints.greeterV1()), endpoint(50052, Fingerprints.greeterV2()));
    RoutingDecision first = RoutingDecider.decide(POLICY, state, NOW);
    log.accept(first);
    lines.clear();

    state = new RegistryState(2, state(endpoint(50051, Fingerprints.greeterV2()), endpoint(50052,
        Fingerprints.greeterV2())).endpoints()); // newer than the decision (version 1)
    log.accept(RoutingDecider.decide(POLICY, state(endpoint(50051, Fingerprints.greeterV1()), endpoint(50052,
        Fingerprints.greeterV2())), NOW, first, Set.of()));

    assertThat(lines).containsExactly("demo.Greeter: excluded 127.0.0.1:50051 (missing [SayHelloAgain])");
  }

  private static PolicyDocument policy(Expectation expectation, ServicePolicy.WhenNoneQualify whenNoneQualify) {
    return new PolicyDocument(Settings.defaults(), List.of(new ServicePolicy("demo.Greeter", "demo-greeter",
        expectation, whenNoneQualify, ServicePolicy.WithoutReflection.TRUST_ADVERTISED, List.of())));
  }

  private static RegistryState state(EndpointState... endpoints) {
    TreeMap<EndpointAddress, EndpointState> map = new TreeMap<>();
    for (EndpointState endpoint : endpoints) {
      map.put(endpoint.address(), endpoint);
    }
    return new RegistryState(1, map);
  }

  private static EndpointState endpoint(int port, ServiceFingerprint build) {
    EndpointAddress address = new EndpointAddress("127.0.0.1", port);
    return new EndpointState(port, address, EndpointSource.REGISTRATION, Locality.UNKNOWN, new TreeMap<>(), 1,
        new TreeMap<>(Map.of(build.service(), Advertisement.of(build))),
        Optional.of(new Lease("l" + port, Duration.ofSeconds(30), NOW.plusSeconds(30))), "agent", NOW,
        new ProbeState.Probed(NOW, ReflectionProtocol.V1, new TreeMap<>(Map.of(build.service(), build))));
  }
}
