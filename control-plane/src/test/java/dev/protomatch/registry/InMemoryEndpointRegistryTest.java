package dev.protomatch.registry;

import static org.assertj.core.api.Assertions.assertThat;

import dev.protomatch.probe.ReflectionProtocol;
import dev.protomatch.testing.Fingerprints;
import dev.protomatch.testing.TestClock;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import org.junit.jupiter.api.Test;

class InMemoryEndpointRegistryTest {
  private static final Duration TTL = Duration.ofSeconds(30);
  private static final EndpointAddress ADDRESS = new EndpointAddress("127.0.0.1", 50051);

  private final TestClock clock = TestClock.atEpochPlusOneDay();
  private final InMemoryEndpointRegistry registry = new InMemoryEndpointRegistry(clock);

  @Test
  void registrationGrantsLeaseExpiringAfterTtl() {
    Lease lease = registry.register(registration(ADDRESS, Advertisement.of(Fingerprints.greeterV1())), TTL);

    assertThat(lease.expiresAt()).isEqualTo(clock.instant().plus(TTL));
    assertThat(registry.state().endpoints()).containsKey(ADDRESS);
  }

  @Test
  void renewalExtendsLeaseFromNow() {
    Lease lease = registry.register(registration(ADDRESS, Advertisement.of(Fingerprints.greeterV1())), TTL);
    clock.advance(Duration.ofSeconds(20));

    Lease renewed = registry.renew(lease.id()).orElseThrow();

    assertThat(renewed.expiresAt()).isEqualTo(clock.instant().plus(TTL));
    assertThat(registry.state().endpoints().get(ADDRESS).leaseExpired(clock.instant().plus(Duration.ofSeconds(29))))
        .isFalse();
  }

  @Test
  void expiredLeaseCannotBeRenewed() {
    Lease lease = registry.register(registration(ADDRESS, Advertisement.of(Fingerprints.greeterV1())), TTL);
    clock.advance(TTL);

    assertThat(registry.renew(lease.id())).isEmpty();
  }

  @Test
  void deregistrationRemovesEndpointAtOnce() {
    Lease lease = registry.register(registration(ADDRESS, Advertisement.of(Fingerprints.greeterV1())), TTL);

    assertThat(registry.deregister(lease.id())).isTrue();
    assertThat(registry.state().endpoints()).isEmpty();
    assertThat(registry.deregister(lease.id())).isFalse();
  }

  @Test
  void reRegistrationReplacesEndpointAndInvalidatesOldLease() {
    Lease old = registry.register(registration(ADDRESS, Advertisement.of(Fingerprints.greeterV1())), TTL);
    Lease current = registry.register(registration(ADDRESS, Advertisement.of(Fingerprints.greeterV2())), TTL);

    assertThat(registry.renew(old.id())).isEmpty();
    assertThat(registry.renew(current.id())).isPresent();
    assertThat(registry.state().endpoints().get(ADDRESS).advertised().get("demo.Greeter").api())
        .contains(Fingerprints.greeterV2().api());
  }

  @Test
  void expiredEndpointsStayVisibleUntilRetentionPasses() {
    registry.register(registration(ADDRESS, Advertisement.of(Fingerprints.greeterV1())), TTL);
    clock.advance(TTL);

    assertThat(registry.removeExpired(TTL)).isEmpty();
    clock.advance(TTL);
    assertThat(registry.removeExpired(TTL)).extracting(EndpointState::address).containsExactly(ADDRESS);
    assertThat(registry.state().endpoints()).isEmpty();
  }

  @Test
  void probeStartedBeforeReRegistrationIsDiscarded() {
    registry.register(registration(ADDRESS, Advertisement.of(Fingerprints.greeterV1())), TTL);
    long generation = registry.state().endpoints().get(ADDRESS).generation();
    registry.register(registration(ADDRESS, Advertisement.of(Fingerprints.greeterV2())), TTL);

    registry.recordProbe(ADDRESS, generation, probedV1());

    assertThat(registry.state().endpoints().get(ADDRESS).probe()).isEqualTo(ProbeState.NOT_PROBED);
  }

  @Test
  void identicalReRegistrationKeepsProbeResult() {
    registry.register(registration(ADDRESS, Advertisement.of(Fingerprints.greeterV1())), TTL);
    registry.recordProbe(ADDRESS, registry.state().endpoints().get(ADDRESS).generation(), probedV1());

    registry.register(registration(ADDRESS, Advertisement.of(Fingerprints.greeterV1())), TTL);

    assertThat(registry.state().endpoints().get(ADDRESS).probe()).isInstanceOf(ProbeState.Probed.class);
  }

  @Test
  void staticEndpointsKeepProbeResultsAcrossReplacement() {
    registry.replaceStaticEndpoints(Map.of(ADDRESS, Set.of("demo.Greeter")));
    registry.recordProbe(ADDRESS, registry.state().endpoints().get(ADDRESS).generation(), probedV1());

    registry.replaceStaticEndpoints(Map.of(ADDRESS, Set.of("demo.Greeter"),
        new EndpointAddress("127.0.0.1", 50052), Set.of("demo.Greeter")));

    assertThat(registry.state().endpoints()).hasSize(2);
    assertThat(registry.state().endpoints().get(ADDRESS).probe()).isInstanceOf(ProbeState.Probed.class);
    assertThat(registry.state().endpoints().get(ADDRESS).source()).isEqualTo(EndpointSource.STATIC);
  }

  @Test
  void unchangedRegistryReturnsSameSnapshot() {
    registry.register(registration(ADDRESS, Advertisement.of(Fingerprints.greeterV1())), TTL);

    assertThat(registry.state()).isSameAs(registry.state());
  }

  @Test
  void countsEndpointsPerClient() {
    registry.register(registration(ADDRESS, Advertisement.of(Fingerprints.greeterV1())), TTL);
    registry.register(registration(new EndpointAddress("127.0.0.1", 50052),
        Advertisement.of(Fingerprints.greeterV1())), TTL);

    assertThat(registry.countByClient("agent-1")).isEqualTo(2);
    assertThat(registry.countByClient("agent-2")).isZero();
  }

  @Test
  void clientCountFollowsReRegistrationAndDeregistration() {
    registry.register(registration(ADDRESS, Advertisement.of(Fingerprints.greeterV1())), TTL);
    Lease lease = registry.register(registration(ADDRESS, Advertisement.of(Fingerprints.greeterV2())), TTL);
    assertThat(registry.countByClient("agent-1")).isEqualTo(1);
    assertThat(registry.isRegistered(ADDRESS)).isTrue();

    registry.deregister(lease.id());

    assertThat(registry.countByClient("agent-1")).isZero();
    assertThat(registry.isRegistered(ADDRESS)).isFalse();
  }

  @Test
  void staticEndpointsAreNotRegistrations() {
    registry.replaceStaticEndpoints(Map.of(ADDRESS, Set.of("demo.Greeter")));

    assertThat(registry.isRegistered(ADDRESS)).isFalse();
  }

  @Test
  void listenersHearRegistrationsAndDeregistrations() {
    int[] calls = {0};
    registry.addListener(() -> calls[0]++);

    Lease lease = registry.register(registration(ADDRESS, Advertisement.of(Fingerprints.greeterV1())), TTL);
    registry.deregister(lease.id());

    assertThat(calls[0]).isEqualTo(2);
  }

  @Test
  void aRenewalIsNotAnnouncedSinceItChangesNoDecision() {
    Lease lease = registry.register(registration(ADDRESS, Advertisement.of(Fingerprints.greeterV1())), TTL);
    int[] calls = {0};
    registry.addListener(() -> calls[0]++);

    registry.renew(lease.id());

    assertThat(calls[0]).isZero();
    assertThat(registry.state().endpoints().get(ADDRESS).lease().orElseThrow().expiresAt())
        .isEqualTo(clock.instant().plus(TTL));
  }

  private ProbeState probedV1() {
    return new ProbeState.Probed(clock.instant(), ReflectionProtocol.V1,
        new TreeMap<>(Map.of("demo.Greeter", Fingerprints.greeterV1())));
  }

  static EndpointRegistration registration(EndpointAddress address, Advertisement... services) {
    return new EndpointRegistration(address, Locality.UNKNOWN, Map.of(), 1, List.of(services), "agent-1");
  }

}
