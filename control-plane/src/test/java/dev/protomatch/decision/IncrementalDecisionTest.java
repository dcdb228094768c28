package dev.protomatch.decision;

import static org.assertj.core.api.Assertions.assertThat;

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
import dev.protomatch.registry.EndpointRegistration;
import dev.protomatch.registry.EndpointState;
import dev.protomatch.registry.InMemoryEndpointRegistry;
import dev.protomatch.registry.Locality;
import dev.protomatch.registry.ProbeState;
import dev.protomatch.registry.RegistryState;
import dev.protomatch.testing.Fingerprints;
import dev.protomatch.testing.TestClock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Deciding again only the services a registry change touched gives the decision a full recomputation gives,
 * over random runs of registrations, renewals, deregistrations, probe results, expiries and time passing.
 */
class IncrementalDecisionTest {
  private static final String GREETER = "demo.Greeter";
  private static final List<String> OTHERS = List.of("bench.A", "bench.B");

  private final ServiceFingerprint v1 = Fingerprints.greeterV1();
  private final ServiceFingerprint v2 = Fingerprints.greeterV2();
  private final PolicyDocument policies = new PolicyDocument(Settings.defaults(), List.of(
      policy(GREETER, new Expectation.Newest(), WithoutReflection.TRUST_ADVERTISED),
      policy("bench.A", new Expectation.Newest(), WithoutReflection.TRUST_ADVERTISED),
      policy("bench.B", new Expectation.RequiredMethods(new TreeSet<>(List.of("SayHello"))),
          WithoutReflection.EXCLUDE)));

  @ParameterizedTest
  @ValueSource(longs = {1, 2, 3, 4, 5, 6, 7, 8})
  void incrementalDecisionEqualsTheFullOneAfterEveryStep(long seed) {
    Random random = new Random(seed);
    TestClock clock = TestClock.atEpochPlusOneDay();
    InMemoryEndpointRegistry registry = new InMemoryEndpointRegistry(clock);
    List<String> leases = new ArrayList<>();

    RegistryState baseState = registry.state();
    Instant baseAt = clock.instant();
    RoutingDecision incremental = RoutingDecider.decide(policies, baseState, baseAt);
    int recomputedNothing = 0;
    for (int step = 0; step < 400; step++) {
      switch (random.nextInt(7)) {
        case 0, 1 -> leases.add(registry.register(registration(random), Duration.ofSeconds(5 + random.nextInt(20))).id());
        case 2 -> {
          if (!leases.isEmpty()) {
            registry.renew(leases.get(random.nextInt(leases.size())));
          }
        }
        case 3 -> {
          if (!leases.isEmpty()) {
            registry.deregister(leases.remove(random.nextInt(leases.size())));
          }
        }
        case 4 -> {
          List<EndpointState> all = List.copyOf(registry.state().endpoints().values());
          if (!all.isEmpty()) {
            EndpointState e = all.get(random.nextInt(all.size()));
            registry.recordProbe(e.address(), e.generation(), probe(random, clock.instant()));
          }
        }
        case 5 -> clock.advance(Duration.ofMillis(random.nextInt(8_000)));
        default -> registry.removeExpired(Duration.ofSeconds(random.nextInt(10)));
      }
      RegistryState state = registry.state();
      Instant now = clock.instant();
      Set<String> touched = RegistryChanges.touchedServices(baseState, baseAt, state, now);
      if (touched.isEmpty()) {
        recomputedNothing++;
      } else {
        incremental = RoutingDecider.decide(policies, state, now, incremental, touched);
      }
      baseState = state;
      baseAt = now;

      assertThat(incremental.services()).as("step %d", step)
          .isEqualTo(RoutingDecider.decide(policies, state, now).services());
    }
    assertThat(recomputedNothing).as("steps that decided nothing").isPositive();
  }

  private EndpointRegistration registration(Random random) {
    EndpointAddress address = new EndpointAddress("127.0.0." + (1 + random.nextInt(6)), 50051);
    List<Advertisement> services = new ArrayList<>();
    if (random.nextBoolean()) {
      services.add(Advertisement.of(random.nextBoolean() ? v1 : v2));
    }
    if (random.nextBoolean() || services.isEmpty()) {
      services.add(Advertisement.nameOnly(OTHERS.get(random.nextInt(OTHERS.size()))));
    }
    return new EndpointRegistration(address, Locality.UNKNOWN, Map.of(), 1 + random.nextInt(2), services, "agent");
  }

  private ProbeState probe(Random random, Instant at) {
    return switch (random.nextInt(3)) {
      case 0 -> new ProbeState.Failed(at, ReflectionException.Kind.NOT_SUPPORTED, "no reflection", 1);
      case 1 -> new ProbeState.Failed(at, ReflectionException.Kind.UNAVAILABLE, "down", 1);
      default -> new ProbeState.Probed(at, ReflectionProtocol.V1,
          new TreeMap<>(Map.of(GREETER, random.nextBoolean() ? v1 : v2)));
    };
  }

  private static ServicePolicy policy(String service, Expectation expect, WithoutReflection withoutReflection) {
    return new ServicePolicy(service, service.replace('.', '-').toLowerCase(), expect, WhenNoneQualify.FAIL_CLOSED,
        withoutReflection, List.of());
  }
}
