package dev.protomatch.decision;

import static org.assertj.core.api.Assertions.assertThat;

import dev.protomatch.decision.ServiceDecision.Outcome;
import dev.protomatch.descriptor.DescriptorHash;
import dev.protomatch.descriptor.HashLevel;
import dev.protomatch.descriptor.ServiceFingerprint;
import dev.protomatch.policy.Expectation;
import dev.protomatch.policy.PolicyDocument;
import dev.protomatch.policy.ServicePolicy;
import dev.protomatch.policy.ServicePolicy.WhenNoneQualify;
import dev.protomatch.policy.ServicePolicy.WithoutReflection;
import dev.protomatch.policy.Settings;
import dev.protomatch.probe.ReflectionException;
import dev.protomatch.probe.ReflectionProtocol;
import dev.protomatch.registry.Advertisement;
import dev.protomatch.registry.EndpointAddress;
import dev.protomatch.registry.EndpointSource;
import dev.protomatch.registry.EndpointState;
import dev.protomatch.registry.Lease;
import dev.protomatch.registry.Locality;
import dev.protomatch.registry.ProbeState;
import dev.protomatch.registry.RegistryState;
import dev.protomatch.testing.DescriptorFixtures;
import dev.protomatch.testing.Fingerprints;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.TreeMap;
import java.util.TreeSet;
import org.junit.jupiter.api.Test;

/** The routing decision as a specification: policy x endpoint states x time -> who takes which calls, and why not. */
class RoutingDeciderTest {
  private static final Instant NOW = Instant.parse("2026-01-02T00:00:00Z");
  private static final EndpointAddress V1 = new EndpointAddress("127.0.0.1", 50051);
  private static final EndpointAddress V2 = new EndpointAddress("127.0.0.1", 50052);
  private static final EndpointAddress V2_B = new EndpointAddress("127.0.0.1", 50053);

  private final ServiceFingerprint greeterV1 = Fingerprints.greeterV1();
  private final ServiceFingerprint greeterV2 = Fingerprints.greeterV2();
  private final List<EndpointState> endpoints = new ArrayList<>();

  @Test
  void excludesEndpointMissingRequiredMethod() {
    probed(V1, greeterV1);
    probed(V2, greeterV2);

    ServiceDecision decision = decide(requiring("SayHello", "SayHelloAgain"));

    assertThat(addresses(decision.included())).containsExactly(V2);
    assertThat(decision.excluded()).singleElement().satisfies(excluded -> {
      assertThat(excluded.address()).isEqualTo(V1);
      assertThat(excluded.reason().describe()).isEqualTo("missing methods [SayHelloAgain]");
      assertThat(excluded.reason().code()).isEqualTo("missing_methods");
    });
  }

  @Test
  void includesEveryBuildForRouteNeedingOnlyCommonMethod() {
    probed(V1, greeterV1);
    probed(V2, greeterV2);

    ServiceDecision decision = decide(requiring("SayHello"));

    assertThat(addresses(decision.included())).containsExactly(V1, V2);
    assertThat(decision.excluded()).isEmpty();
  }

  @Test
  void methodEveryBuildHasKeepsAllEndpointsWhileNewMethodGoesOnlyToNewBuild() {
    probed(V1, greeterV1);
    probed(V2, greeterV2);

    ServiceDecision decision = decide(new Expectation.Newest());

    assertThat(addresses(decision.methodEndpoints().get("SayHello"))).containsExactly(V1, V2);
    assertThat(addresses(decision.methodEndpoints().get("SayHelloAgain"))).containsExactly(V2);
  }

  @Test
  void excludesEndpointWhoseLeaseExpired() {
    endpoints.add(endpoint(V2, Advertisement.of(greeterV2), probedState(greeterV2), NOW.minusSeconds(1)));

    ServiceDecision decision = decide(requiring("SayHello"));

    assertThat(decision.included()).isEmpty();
    assertThat(decision.excluded().get(0).reason())
        .isEqualTo(new ExclusionReason.LeaseExpired(NOW.minusSeconds(1)));
    assertThat(decision.excluded().get(0).reason().describe()).isEqualTo("lease expired at 2026-01-01T23:59:59Z");
  }

  @Test
  void pinnedApiHashExcludesOtherBuildsNamingBothHashes() {
    probed(V1, greeterV1);
    probed(V2, greeterV2);

    ServiceDecision decision = decide(new Expectation.PinnedHash(HashLevel.API, greeterV2.api()));

    assertThat(addresses(decision.included())).containsExactly(V2);
    assertThat(decision.excluded().get(0).reason().describe())
        .isEqualTo("hash mismatch: expected api " + greeterV2.api() + ", got " + greeterV1.api());
  }

  @Test
  void pinnedApiHashSendsEvenSharedMethodsOnlyToThePinnedBuild() {
    probed(V1, greeterV1);
    probed(V2, greeterV2);

    ServiceDecision decision = decide(new Expectation.PinnedHash(HashLevel.API, greeterV2.api()));

    assertThat(addresses(decision.methodEndpoints().get("SayHello"))).containsExactly(V2);
    assertThat(decision.builds()).containsOnlyKeys(greeterV2.api());
  }

  @Test
  void pinnedSchemaHashSendsEveryMethodOnlyToThatBuild() {
    probed(V1, greeterV1);
    probed(V2, greeterV2);

    ServiceDecision decision = decide(new Expectation.PinnedHash(HashLevel.SCHEMA, greeterV2.schema()));

    assertThat(addresses(decision.methodEndpoints().get("SayHello"))).containsExactly(V2);
  }

  @Test
  void newestRoutesEachMethodToEveryBuildServingItWhateverTheOrderTheyCameIn() {
    probed(V2, greeterV2);
    endpoints.add(endpoint(V1, Advertisement.of(greeterV1), probedState(greeterV1), NOW.plusSeconds(30),
        NOW.plusSeconds(3600))); // the old build restarted long after the new one

    ServiceDecision decision = decide(new Expectation.Newest());

    assertThat(decision.expected()).contains(greeterV2);
    assertThat(addresses(decision.methodEndpoints().get("SayHello"))).containsExactly(V1, V2);
    assertThat(addresses(decision.methodEndpoints().get("SayHelloAgain"))).containsExactly(V2);
    assertThat(decision.fallback()).isEmpty();
  }

  @Test
  void requiredMethodsExcludeBuildsLackingOneFromEveryMethod() {
    probed(V1, greeterV1);
    probed(V2, greeterV2);

    ServiceDecision decision = decide(requiring("SayHelloAgain"));

    assertThat(addresses(decision.methodEndpoints().get("SayHello"))).containsExactly(V2);
    assertThat(addresses(decision.methodEndpoints().get("SayHelloAgain"))).containsExactly(V2);
  }

  @Test
  void hashOnlyAdvertisementTakesTheSurfaceAnotherEndpointShowedForTheSameApiHash() {
    probed(V2, greeterV2);
    endpoints.add(endpoint(V2_B, new Advertisement("demo.Greeter", Optional.of(greeterV2.api()), Optional.empty(),
        Optional.empty()), ProbeState.NOT_PROBED, NOW.plusSeconds(30)));

    ServiceDecision decision = decide(new Expectation.Newest());

    assertThat(addresses(decision.methodEndpoints().get("SayHelloAgain"))).containsExactly(V2, V2_B);
  }

  @Test
  void newestFallsBackToOlderBuildWhenNewerIsGone() {
    probed(V1, greeterV1);

    ServiceDecision decision = decide(new Expectation.Newest());

    assertThat(addresses(decision.included())).containsExactly(V1);
  }

  @Test
  void newestRoutesAMethodWhoseSignatureChangedByTheNewerBuildsSignature() {
    ServiceFingerprint changed = fingerprint(Map.of("SayHello", new dev.protomatch.descriptor.MethodSignature(
        "SayHello", "demo.OtherRequest", "demo.HelloReply", false, false)));
    probed(V1, changed);
    probed(V2, greeterV2);

    ServiceDecision decision = decide(new Expectation.Newest());

    assertThat(decision.excluded()).singleElement().satisfies(excluded -> assertThat(excluded.reason().describe())
        .isEqualTo("incompatible methods [SayHello: request demo.OtherRequest, expected demo.HelloRequest]"));
    assertThat(decision.methodEndpoints().get("SayHello")).extracting(RoutableEndpoint::address).containsExactly(V2);
  }

  @Test
  void aBuildWithAChangedSignatureKeepsTheMethodsItSharesWithTheNewerBuild() {
    java.util.SortedMap<String, dev.protomatch.descriptor.MethodSignature> methods = new TreeMap<>(greeterV2.methods());
    methods.put("SayHello", new dev.protomatch.descriptor.MethodSignature(
        "SayHello", "demo.OtherRequest", "demo.HelloReply", false, true));
    methods.put("SayGoodbye", new dev.protomatch.descriptor.MethodSignature(
        "SayGoodbye", "demo.HelloRequest", "demo.HelloReply", false, false));
    ServiceFingerprint newer = fingerprint(methods);
    probed(V1, newer);
    probed(V2, greeterV2);

    ServiceDecision decision = decide(new Expectation.Newest());

    assertThat(decision.excluded()).isEmpty();
    assertThat(addresses(decision.methodEndpoints().get("SayHelloAgain"))).containsExactly(V1, V2);
    assertThat(addresses(decision.methodEndpoints().get("SayHello"))).containsExactly(V1);
    assertThat(decision.routes().get("SayHello").signature().orElseThrow().streamingKind()).isEqualTo("server_streaming");
  }

  @Test
  void quarantinesEndpointWhoseAdvertisementDisagreesWithReflection() {
    endpoints.add(endpoint(V1, Advertisement.of(greeterV2), probedState(greeterV1), NOW.plusSeconds(30)));

    ServiceDecision decision = decide(requiring("SayHello"));

    assertThat(decision.excluded().get(0).reason().describe()).isEqualTo(
        "quarantined: advertised api " + greeterV2.api() + " but reflection reports " + greeterV1.api());
  }

  @Test
  void quarantinesEndpointWhoseReflectionDoesNotListTheService() {
    endpoints.add(endpoint(V1, Advertisement.of(greeterV1),
        new ProbeState.Probed(NOW, ReflectionProtocol.V1, new TreeMap<>()), NOW.plusSeconds(30)));

    ServiceDecision decision = decide(requiring("SayHello"));

    assertThat(decision.excluded().get(0).reason().describe())
        .isEqualTo("quarantined: registered for demo.Greeter but its reflection does not list that service");
  }

  @Test
  void endpointWithoutReflectionIsJudgedByItsAdvertisementWhenPolicyTrustsIt() {
    endpoints.add(endpoint(V2, Advertisement.of(greeterV2), reflectionDisabled(), NOW.plusSeconds(30)));

    ServiceDecision decision = decide(policy(requiring("SayHelloAgain"), WithoutReflection.TRUST_ADVERTISED));

    assertThat(addresses(decision.included())).containsExactly(V2);
  }

  @Test
  void endpointWithoutReflectionIsExcludedWhenPolicyDemandsProbing() {
    endpoints.add(endpoint(V2, Advertisement.of(greeterV2), reflectionDisabled(), NOW.plusSeconds(30)));

    ServiceDecision decision = decide(policy(requiring("SayHelloAgain"), WithoutReflection.EXCLUDE));

    assertThat(decision.excluded().get(0).reason().describe()).isEqualTo(
        "no reflection (127.0.0.1:50052: does not serve grpc.reflection.v1alpha.ServerReflection) and the policy"
            + " takes only probed endpoints (without-reflection: exclude)");
  }

  @Test
  void excludesEndpointWhoseProbeTimedOut() {
    endpoints.add(endpoint(V2, Advertisement.of(greeterV2), new ProbeState.Failed(NOW,
        ReflectionException.Kind.TIMEOUT, "127.0.0.1:50052: reflection did not answer within 2s", 1), NOW.plusSeconds(30)));

    ServiceDecision decision = decide(requiring("SayHello"));

    assertThat(decision.excluded().get(0).reason().describe())
        .isEqualTo("probe failed: 127.0.0.1:50052: reflection did not answer within 2s");
  }

  @Test
  void staticEndpointAwaitsItsFirstProbe() {
    endpoints.add(new EndpointState(1, V1, EndpointSource.STATIC, Locality.UNKNOWN, new TreeMap<>(), 1,
        new TreeMap<>(Map.of("demo.Greeter", Advertisement.nameOnly("demo.Greeter"))), Optional.empty(), "", NOW,
        ProbeState.NOT_PROBED));

    ServiceDecision decision = decide(requiring("SayHello"));

    assertThat(decision.excluded().get(0).reason()).isInstanceOf(ExclusionReason.AwaitingProbe.class);
  }

  @Test
  void aStaticEndpointWithoutReflectionIsExcludedForThatUnderTheDefaultPolicy() {
    endpoints.add(new EndpointState(1, V1, EndpointSource.STATIC, Locality.UNKNOWN, new TreeMap<>(), 1,
        new TreeMap<>(Map.of("demo.Greeter", Advertisement.nameOnly("demo.Greeter"))), Optional.empty(), "", NOW,
        reflectionDisabled()));

    ServiceDecision decision = decide(policy(requiring("SayHello"), WithoutReflection.TRUST_ADVERTISED));

    assertThat(decision.excluded().get(0).reason().describe()).isEqualTo("no reflection (127.0.0.1:50052: does not"
        + " serve grpc.reflection.v1alpha.ServerReflection) and a static endpoint is known only through its reflection");
  }

  @Test
  void hashOnlyAdvertisementCannotSatisfyMethodRequirementUntilProbed() {
    endpoints.add(endpoint(V2, new Advertisement("demo.Greeter", Optional.of(greeterV2.api()), Optional.empty(),
        Optional.empty()), ProbeState.NOT_PROBED, NOW.plusSeconds(30)));

    ServiceDecision decision = decide(requiring("SayHello"));

    assertThat(decision.excluded().get(0).reason().describe())
        .isEqualTo("method surface unknown: registered with hashes only (no descriptor set) and not probed");
  }

  @Test
  void failClosedLeavesARequiredMethodNoBuildServesWithoutEndpoints() {
    probed(V1, greeterV1);

    ServiceDecision decision = decide(requiring("SayHelloAgain"));

    assertThat(decision.methodEndpoints().get("SayHelloAgain")).isEmpty();
    assertThat(decision.fallback()).isEmpty();
    assertThat(decision.outcome()).isEqualTo(Outcome.NONE_QUALIFIED_FAIL_CLOSED);
  }

  @Test
  void failClosedPinnedToAnAbsentBuildRoutesNothing() {
    probed(V1, greeterV1);

    ServiceDecision decision = decide(new Expectation.PinnedHash(HashLevel.API, greeterV2.api()));

    assertThat(decision.included()).isEmpty();
    assertThat(decision.routes()).isEmpty();
    assertThat(decision.outcome()).isEqualTo(Outcome.NONE_QUALIFIED_FAIL_CLOSED);
  }

  @Test
  void whenNoBuildQualifiesMethodsEveryBuildHasStillReachThemAndMissingOnesFailClosed() {
    probed(V1, greeterV1);

    ServiceDecision decision = decide(requiring("SayHello", "SayHelloAgain"));

    assertThat(decision.outcome()).isEqualTo(Outcome.NONE_QUALIFIED_FAIL_CLOSED);
    assertThat(addresses(decision.methodEndpoints().get("SayHello"))).containsExactly(V1);
    assertThat(decision.methodEndpoints().get("SayHelloAgain")).isEmpty();
  }

  @Test
  void failOpenPublishesEveryLiveEndpointWhenNoneQualifies() {
    probed(V1, greeterV1);
    endpoints.add(endpoint(V2_B, Advertisement.of(greeterV2), probedState(greeterV2), NOW.minusSeconds(1)));

    ServiceDecision decision = decide(new ServicePolicy("demo.Greeter", "greeter", requiring("SayHelloThird"),
        WhenNoneQualify.FAIL_OPEN, WithoutReflection.TRUST_ADVERTISED, List.of()));

    assertThat(decision.outcome()).isEqualTo(Outcome.NONE_QUALIFIED_FAIL_OPEN);
    assertThat(addresses(decision.fallback())).containsExactly(V1);
    assertThat(decision.routes()).isEmpty();
    assertThat(decision.excluded()).extracting(e -> e.reason().code())
        .as("why none qualified stays visible").containsExactly("missing_methods", "lease_expired");
  }

  @Test
  void servicesWithoutPolicyAreNotDecided() {
    probed(V1, greeterV1);

    RoutingDecision decision = RoutingDecider.decide(new PolicyDocument(Settings.defaults(), List.of(
        new ServicePolicy("catalog.v1.CatalogService", "catalog", requiring("GetItem"), WhenNoneQualify.FAIL_CLOSED,
            WithoutReflection.TRUST_ADVERTISED, List.of()))), state(), NOW);

    assertThat(decision.services()).containsOnlyKeys("catalog.v1.CatalogService");
    assertThat(decision.services().get("catalog.v1.CatalogService").included()).isEmpty();
  }

  @Test
  void decisionIsDeterministic() {
    probed(V2, greeterV2);
    probed(V1, greeterV1);
    probed(V2_B, Fingerprints.of(DescriptorFixtures.GREETER_V2));

    assertThat(decide(requiring("SayHelloAgain"))).isEqualTo(decide(requiring("SayHelloAgain")));
  }

  private static Expectation.RequiredMethods requiring(String... methods) {
    return new Expectation.RequiredMethods(new TreeSet<>(List.of(methods)));
  }

  private ServiceDecision decide(Expectation expectation) {
    return decide(policy(expectation, WithoutReflection.TRUST_ADVERTISED));
  }

  private ServiceDecision decide(ServicePolicy policy) {
    return RoutingDecider.decide(new PolicyDocument(Settings.defaults(), List.of(policy)), state(), NOW)
        .services().get(policy.service());
  }

  private static ServicePolicy policy(Expectation expectation, WithoutReflection withoutReflection) {
    return new ServicePolicy("demo.Greeter", "demo-greeter", expectation, WhenNoneQualify.FAIL_CLOSED,
        withoutReflection, List.of());
  }

  private RegistryState state() {
    TreeMap<EndpointAddress, EndpointState> map = new TreeMap<>();
    endpoints.forEach(e -> map.put(e.address(), e));
    return new RegistryState(7, map);
  }

  private void probed(EndpointAddress address, ServiceFingerprint fingerprint) {
    endpoints.add(endpoint(address, Advertisement.of(fingerprint), probedState(fingerprint), NOW.plusSeconds(30)));
  }

  private static ProbeState probedState(ServiceFingerprint fingerprint) {
    return new ProbeState.Probed(NOW, ReflectionProtocol.V1, new TreeMap<>(Map.of(fingerprint.service(), fingerprint)));
  }

  private static ProbeState reflectionDisabled() {
    return new ProbeState.Failed(NOW, ReflectionException.Kind.NOT_SUPPORTED,
        "127.0.0.1:50052: does not serve grpc.reflection.v1alpha.ServerReflection", 1);
  }

  private static EndpointState endpoint(EndpointAddress address, Advertisement advertisement, ProbeState probe,
                                        Instant leaseExpiry) {
    return endpoint(address, advertisement, probe, leaseExpiry, NOW);
  }

  private static EndpointState endpoint(EndpointAddress address, Advertisement advertisement, ProbeState probe,
                                        Instant leaseExpiry, Instant registeredAt) {
    return new EndpointState(address.port(), address, EndpointSource.REGISTRATION, Locality.UNKNOWN, new TreeMap<>(),
        1, new TreeMap<>(Map.of(advertisement.service(), advertisement)),
        Optional.of(new Lease("lease-" + address.port(), Duration.ofSeconds(30), leaseExpiry)), "agent",
        registeredAt, probe);
  }

  /** A build of demo.Greeter with these methods, its hashes made up from them (an api hash names one surface). */
  private static ServiceFingerprint fingerprint(Map<String, dev.protomatch.descriptor.MethodSignature> methods) {
    DescriptorHash hash = DescriptorHash.parse(String.format("sha256:%064x", new TreeMap<>(methods).hashCode() & 0xFFFFFFFFL));
    return new ServiceFingerprint("demo.Greeter", hash, hash, new TreeMap<>(methods));
  }

  private static List<EndpointAddress> addresses(List<RoutableEndpoint> endpoints) {
    return endpoints.stream().map(RoutableEndpoint::address).toList();
  }
}
