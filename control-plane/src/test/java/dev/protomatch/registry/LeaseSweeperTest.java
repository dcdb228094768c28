package dev.protomatch.registry;

import static org.assertj.core.api.Assertions.assertThat;

import dev.protomatch.decision.ExclusionReason;
import dev.protomatch.decision.RoutingDecider;
import dev.protomatch.policy.Expectation;
import dev.protomatch.policy.PolicyDocument;
import dev.protomatch.policy.ServicePolicy;
import dev.protomatch.policy.Settings;
import dev.protomatch.testing.Fingerprints;
import dev.protomatch.testing.TestClock;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.TreeSet;
import org.junit.jupiter.api.Test;

/** A process killed with kill -9 never deregisters: it must drop out when its lease runs out. */
class LeaseSweeperTest {
  private static final Duration TTL = Duration.ofSeconds(30);
  private static final EndpointAddress KILLED = new EndpointAddress("127.0.0.1", 50051);

  private final TestClock clock = TestClock.atEpochPlusOneDay();
  private final InMemoryEndpointRegistry registry = new InMemoryEndpointRegistry(clock);
  private final LeaseSweeper sweeper = new LeaseSweeper(registry, TTL);
  private final PolicyDocument policies = new PolicyDocument(Settings.defaults(), List.of(new ServicePolicy(
      "demo.Greeter", "greeter", new Expectation.RequiredMethods(new TreeSet<>(List.of("SayHello"))),
      ServicePolicy.WhenNoneQualify.FAIL_CLOSED, ServicePolicy.WithoutReflection.TRUST_ADVERTISED, List.of())));

  @Test
  void unrenewedEndpointIsExcludedAtExpiryAndForgottenAfterRetention() {
    registry.register(new EndpointRegistration(KILLED, Locality.UNKNOWN, Map.of(), 1,
        List.of(Advertisement.of(Fingerprints.greeterV2())), "agent"), TTL);
    assertThat(decideExclusions()).isEmpty();

    clock.advance(TTL);
    assertThat(decideExclusions()).singleElement().isInstanceOf(ExclusionReason.LeaseExpired.class);
    assertThat(sweeper.sweep()).isEmpty();

    clock.advance(TTL);
    assertThat(sweeper.sweep()).extracting(EndpointState::address).containsExactly(KILLED);
    assertThat(registry.state().endpoints()).isEmpty();
  }

  @Test
  void eachForgottenEndpointIsAnnounced() {
    List<EndpointState> forgotten = new java.util.ArrayList<>();
    sweeper.addListener(forgotten::add);
    registry.register(new EndpointRegistration(KILLED, Locality.UNKNOWN, Map.of(), 1,
        List.of(Advertisement.of(Fingerprints.greeterV2())), "agent"), TTL);

    clock.advance(TTL.multipliedBy(2));
    sweeper.sweep();
    sweeper.sweep();

    assertThat(forgotten).extracting(EndpointState::address).containsExactly(KILLED);
  }

  private List<ExclusionReason> decideExclusions() {
    return RoutingDecider.decide(policies, registry.state(), clock.instant()).services().get("demo.Greeter")
        .excluded().stream().map(e -> e.reason()).toList();
  }
}
