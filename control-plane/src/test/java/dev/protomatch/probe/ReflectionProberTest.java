package dev.protomatch.probe;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.protomatch.decision.ExcludedEndpoint;
import dev.protomatch.decision.RoutableEndpoint;
import dev.protomatch.decision.RoutingDecider;
import dev.protomatch.decision.ServiceDecision;
import dev.protomatch.descriptor.DescriptorHasher;
import dev.protomatch.policy.Expectation;
import dev.protomatch.policy.PolicyDocument;
import dev.protomatch.policy.ServicePolicy;
import dev.protomatch.policy.ServicePolicy.WhenNoneQualify;
import dev.protomatch.policy.ServicePolicy.WithoutReflection;
import dev.protomatch.policy.Settings;
import dev.protomatch.registry.Advertisement;
import dev.protomatch.registry.EndpointAddress;
import dev.protomatch.registry.EndpointRegistration;
import dev.protomatch.registry.InMemoryEndpointRegistry;
import dev.protomatch.registry.Locality;
import dev.protomatch.registry.ProbeState;
import dev.protomatch.testing.DescriptorFixtures;
import dev.protomatch.testing.Fingerprints;
import dev.protomatch.testing.LoopbackServer;
import dev.protomatch.testing.LoopbackServer.Reflection;
import dev.protomatch.testing.MisbehavingReflection;
import dev.protomatch.testing.TestClock;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * Probing real grpc-java servers on loopback and deciding on what they really serve: the demo Greeter in
 * its v1 and v2 builds, one without reflection, one whose reflection hangs and one that answers garbage.
 */
class ReflectionProberTest {
  private static final Duration TTL = Duration.ofSeconds(30);

  private static LoopbackServer greeterV1;
  private static LoopbackServer greeterV2;
  private static LoopbackServer greeterV2WithoutReflection;
  private static LoopbackServer hanging;
  private static LoopbackServer garbage;

  private final TestClock clock = TestClock.atEpochPlusOneDay();
  private final InMemoryEndpointRegistry registry = new InMemoryEndpointRegistry(clock);
  private Settings.Probe probeSettings = new Settings.Probe(Duration.ofSeconds(15), Duration.ofSeconds(10), 4,
      Duration.ofMinutes(5));
  private final ReflectionProber prober = new ReflectionProber(registry, new DescriptorHasher(), () -> probeSettings, clock);

  @BeforeAll
  static void startServers() {
    greeterV1 = LoopbackServer.start(Reflection.V1_AND_V1ALPHA, DescriptorFixtures.GREETER_V1.implementation().get());
    greeterV2 = LoopbackServer.start(Reflection.V1_AND_V1ALPHA, DescriptorFixtures.GREETER_V2.implementation().get());
    greeterV2WithoutReflection = LoopbackServer.start(Reflection.NONE, DescriptorFixtures.GREETER_V2.implementation().get());
    hanging = LoopbackServer.start(MisbehavingReflection.hanging());
    garbage = LoopbackServer.start(MisbehavingReflection.garbage("demo.Greeter"));
  }

  @AfterAll
  static void stopServers() throws InterruptedException {
    for (LoopbackServer server : List.of(greeterV1, greeterV2, greeterV2WithoutReflection, hanging, garbage)) {
      server.close();
    }
  }

  @AfterEach
  void closeProber() {
    prober.close();
  }

  @Test
  void realV1BuildIsExcludedFromRouteRequiringSayHelloAgain() throws Exception {
    registerHashOnly(greeterV1, Fingerprints.greeterV1());
    registerHashOnly(greeterV2, Fingerprints.greeterV2());

    prober.probeDue().get(30, TimeUnit.SECONDS);
    ServiceDecision decision = decide(requiring("SayHello", "SayHelloAgain"), WithoutReflection.TRUST_ADVERTISED);

    assertThat(decision.included()).extracting(RoutableEndpoint::address).containsExactly(address(greeterV2));
    assertThat(decision.excluded()).singleElement().satisfies(excluded -> {
      assertThat(excluded.address()).isEqualTo(address(greeterV1));
      assertThat(excluded.reason().describe()).isEqualTo("missing methods [SayHelloAgain]");
    });
  }

  @Test
  void realV1AndV2BuildsAreBothIncludedForRouteNeedingOnlySayHello() throws Exception {
    registerHashOnly(greeterV1, Fingerprints.greeterV1());
    registerHashOnly(greeterV2, Fingerprints.greeterV2());

    prober.probeDue().get(30, TimeUnit.SECONDS);
    ServiceDecision decision = decide(requiring("SayHello"), WithoutReflection.TRUST_ADVERTISED);

    assertThat(decision.included()).extracting(RoutableEndpoint::address)
        .containsExactlyInAnyOrder(address(greeterV1), address(greeterV2));
  }

  @Test
  void aScanForNewEndpointsProbesOnlyThoseNeverProbed() throws Exception {
    registerHashOnly(greeterV2WithoutReflection, Fingerprints.greeterV2());
    prober.probeDue().get(30, TimeUnit.SECONDS);
    clock.advance(Duration.ofSeconds(20)); // the failed probe is due again (backoff 15 s), the lease still live
    registerHashOnly(greeterV1, Fingerprints.greeterV1());

    prober.probeNew().get(30, TimeUnit.SECONDS);

    assertThat(registry.state().endpoints().get(address(greeterV1)).probe()).isInstanceOf(ProbeState.Probed.class);
    assertThat(registry.state().endpoints().get(address(greeterV2WithoutReflection)).probe())
        .isInstanceOfSatisfying(ProbeState.Failed.class, failed -> assertThat(failed.consecutiveFailures()).isEqualTo(1));

    prober.probeDue().get(30, TimeUnit.SECONDS);

    assertThat(registry.state().endpoints().get(address(greeterV2WithoutReflection)).probe())
        .isInstanceOfSatisfying(ProbeState.Failed.class, failed -> assertThat(failed.consecutiveFailures()).isEqualTo(2));
  }

  @Test
  void staticEndpointLearnsItsBuildByProbing() throws Exception {
    registry.replaceStaticEndpoints(Map.of(address(greeterV2), Set.of("demo.Greeter")));

    prober.probeDue().get(30, TimeUnit.SECONDS);

    assertThat(registry.state().endpoints().get(address(greeterV2)).probe())
        .isInstanceOfSatisfying(ProbeState.Probed.class, probed ->
            assertThat(probed.services()).containsEntry("demo.Greeter", Fingerprints.greeterV2()));
  }

  @Test
  void lyingAdvertisementIsQuarantined() throws Exception {
    registerHashOnly(greeterV1, Fingerprints.greeterV2());

    prober.probeDue().get(30, TimeUnit.SECONDS);

    assertThat(onlyExclusion(requiring("SayHello")).reason().describe()).isEqualTo("quarantined: advertised api "
        + Fingerprints.greeterV2().api() + " but reflection reports " + Fingerprints.greeterV1().api());
  }

  @Test
  void endpointWithoutReflectionIsExcludedWhenPolicyDemandsProbing() throws Exception {
    registerHashOnly(greeterV2WithoutReflection, Fingerprints.greeterV2());

    prober.probeDue().get(30, TimeUnit.SECONDS);

    assertThat(decide(requiring("SayHello"), WithoutReflection.EXCLUDE).excluded().get(0).reason().describe())
        .isEqualTo("no reflection (" + address(greeterV2WithoutReflection) + ": serves neither"
            + " grpc.reflection.v1.ServerReflection nor grpc.reflection.v1alpha.ServerReflection (reflection disabled?))"
            + " and the policy takes only probed endpoints (without-reflection: exclude)");
  }

  @Test
  void endpointWithoutReflectionIsJudgedByAdvertisementWhenPolicyTrustsIt() throws Exception {
    registry.register(new EndpointRegistration(address(greeterV2WithoutReflection), Locality.UNKNOWN, Map.of(), 1,
        List.of(Advertisement.of(Fingerprints.greeterV2())), "test"), TTL);

    prober.probeDue().get(30, TimeUnit.SECONDS);

    assertThat(decide(requiring("SayHelloAgain"), WithoutReflection.TRUST_ADVERTISED).included())
        .extracting(RoutableEndpoint::address).containsExactly(address(greeterV2WithoutReflection));
  }

  @Test
  void reflectionTimeoutExcludesEndpointWithReason() throws Exception {
    probeSettings = new Settings.Probe(Duration.ofSeconds(15), Duration.ofMillis(300), 4, Duration.ofMinutes(5));
    registerHashOnly(hanging, Fingerprints.greeterV2());

    prober.probeDue().get(30, TimeUnit.SECONDS);

    assertThat(onlyExclusion(requiring("SayHello")).reason().describe())
        .isEqualTo("probe failed: " + address(hanging) + ": reflection did not answer within the probe timeout");
  }

  @Test
  void hangingEndpointDoesNotHoldUpProbesOfOthers() {
    probeSettings = new Settings.Probe(Duration.ofSeconds(15), Duration.ofSeconds(60), 4, Duration.ofMinutes(5));
    registerHashOnly(hanging, Fingerprints.greeterV2());
    registerHashOnly(greeterV2, Fingerprints.greeterV2());

    prober.probeDue();

    await().atMost(Duration.ofSeconds(20)).until(() ->
        registry.state().endpoints().get(address(greeterV2)).probe() instanceof ProbeState.Probed);
    assertThat(registry.state().endpoints().get(address(hanging)).probe()).isEqualTo(ProbeState.NOT_PROBED);
  }

  @Test
  void eachProbeIsAnnouncedWithItsOutcome() throws Exception {
    List<ReflectionProber.ProbeCompleted> completed = new java.util.concurrent.CopyOnWriteArrayList<>();
    prober.addListener(completed::add);
    registerHashOnly(greeterV2, Fingerprints.greeterV2());
    registerHashOnly(greeterV2WithoutReflection, Fingerprints.greeterV2());

    prober.probeDue().get(30, TimeUnit.SECONDS);

    assertThat(completed).hasSize(2).allSatisfy(probe -> assertThat(probe.duration()).isPositive());
    assertThat(completed).filteredOn(probe -> probe.address().equals(address(greeterV2))).singleElement()
        .extracting(ReflectionProber.ProbeCompleted::outcome).isInstanceOf(ProbeState.Probed.class);
    assertThat(completed).filteredOn(probe -> probe.address().equals(address(greeterV2WithoutReflection)))
        .singleElement().extracting(ReflectionProber.ProbeCompleted::outcome)
        .isInstanceOfSatisfying(ProbeState.Failed.class, failed ->
            assertThat(failed.kind()).isEqualTo(ReflectionException.Kind.NOT_SUPPORTED));
  }

  @Test
  void garbageReflectionAnswerIsProbeFailure() throws Exception {
    registerHashOnly(garbage, Fingerprints.greeterV2());

    prober.probeDue().get(30, TimeUnit.SECONDS);

    assertThat(onlyExclusion(requiring("SayHello")).reason().describe()).startsWith("probe failed: " + address(garbage)
        + " (grpc.reflection.v1.ServerReflection): a file in the reflection answer is not a FileDescriptorProto");
  }

  @Test
  void failingEndpointIsReprobedOnlyAfterBackoff() throws Exception {
    registerHashOnly(greeterV2WithoutReflection, Fingerprints.greeterV2());
    prober.probeDue().get(30, TimeUnit.SECONDS);
    ProbeState first = registry.state().endpoints().get(address(greeterV2WithoutReflection)).probe();

    clock.advance(Duration.ofSeconds(14));
    prober.probeDue().get(30, TimeUnit.SECONDS);
    assertThat(registry.state().endpoints().get(address(greeterV2WithoutReflection)).probe()).isEqualTo(first);

    clock.advance(Duration.ofSeconds(1));
    prober.probeDue().get(30, TimeUnit.SECONDS);
    assertThat(registry.state().endpoints().get(address(greeterV2WithoutReflection)).probe())
        .isInstanceOfSatisfying(ProbeState.Failed.class, failed -> assertThat(failed.consecutiveFailures()).isEqualTo(2));
  }

  @Test
  void anEndpointThatRefusedTheConnectionIsReprobedAfterOneSecond() throws Exception {
    EndpointAddress closed;
    try (java.net.ServerSocket socket = new java.net.ServerSocket(0, 1, java.net.InetAddress.getLoopbackAddress())) {
      closed = new EndpointAddress("127.0.0.1", socket.getLocalPort());
    }
    registry.register(new EndpointRegistration(closed, Locality.UNKNOWN, Map.of(), 1,
        List.of(new Advertisement("demo.Greeter", Optional.of(Fingerprints.greeterV2().api()), Optional.empty(),
            Optional.empty())), "test"), TTL);
    prober.probeDue().get(30, TimeUnit.SECONDS);
    assertThat(registry.state().endpoints().get(closed).probe()).isInstanceOfSatisfying(ProbeState.Failed.class,
        failed -> assertThat(failed.kind()).isEqualTo(ReflectionException.Kind.UNAVAILABLE));

    clock.advance(Duration.ofSeconds(1));
    prober.probeDue().get(30, TimeUnit.SECONDS);

    assertThat(registry.state().endpoints().get(closed).probe())
        .isInstanceOfSatisfying(ProbeState.Failed.class, failed -> assertThat(failed.consecutiveFailures()).isEqualTo(2));
  }

  @Test
  void afterAnAnswerTheBackoffStartsAtTheIntervalAndDoublesPerFailureUpToMaximum() {
    Settings.Probe settings = new Settings.Probe(Duration.ofSeconds(15), Duration.ofSeconds(2), 4, Duration.ofMinutes(1));

    for (ReflectionException.Kind answered : List.of(ReflectionException.Kind.NOT_SUPPORTED,
        ReflectionException.Kind.BAD_ANSWER)) {
      assertThat(List.of(1, 2, 3, 4, 30)).map(n -> ReflectionProber.backoff(answered, n, settings)).containsExactly(
          Duration.ofSeconds(15), Duration.ofSeconds(30), Duration.ofSeconds(60), Duration.ofSeconds(60),
          Duration.ofSeconds(60));
    }
  }

  @Test
  void afterATimeoutOrNoConnectionTheBackoffStartsAtOneSecond() {
    Settings.Probe settings = new Settings.Probe(Duration.ofHours(1), Duration.ofSeconds(2), 4, Duration.ofMinutes(5));

    for (ReflectionException.Kind transientKind : List.of(ReflectionException.Kind.TIMEOUT,
        ReflectionException.Kind.UNAVAILABLE)) {
      assertThat(List.of(1, 2, 3, 9, 30)).map(n -> ReflectionProber.backoff(transientKind, n, settings))
          .containsExactly(Duration.ofSeconds(1), Duration.ofSeconds(2), Duration.ofSeconds(4), Duration.ofSeconds(256),
              Duration.ofMinutes(5));
    }
  }

  @Test
  void theTransientBackoffNeverExceedsAShortInterval() {
    Settings.Probe settings = new Settings.Probe(Duration.ofMillis(200), Duration.ofSeconds(2), 4, Duration.ofMinutes(5));

    assertThat(ReflectionProber.backoff(ReflectionException.Kind.TIMEOUT, 1, settings)).isEqualTo(Duration.ofMillis(200));
  }

  private void registerHashOnly(LoopbackServer server, dev.protomatch.descriptor.ServiceFingerprint claimed) {
    registry.register(new EndpointRegistration(address(server), Locality.UNKNOWN, Map.of(), 1,
        List.of(new Advertisement("demo.Greeter", Optional.of(claimed.api()), Optional.empty(), Optional.empty())),
        "test"), TTL);
  }

  private ExcludedEndpoint onlyExclusion(Expectation expectation) {
    List<ExcludedEndpoint> excluded = decide(expectation, WithoutReflection.TRUST_ADVERTISED).excluded();
    assertThat(excluded).hasSize(1);
    return excluded.get(0);
  }

  private ServiceDecision decide(Expectation expectation, WithoutReflection withoutReflection) {
    ServicePolicy policy = new ServicePolicy("demo.Greeter", "demo-greeter", expectation, WhenNoneQualify.FAIL_CLOSED,
        withoutReflection, List.of());
    return RoutingDecider.decide(new PolicyDocument(Settings.defaults(), List.of(policy)), registry.state(),
        clock.instant()).services().get("demo.Greeter");
  }

  private static Expectation requiring(String... methods) {
    return new Expectation.RequiredMethods(new TreeSet<>(List.of(methods)));
  }

  private static EndpointAddress address(LoopbackServer server) {
    return new EndpointAddress("127.0.0.1", server.port());
  }
}
