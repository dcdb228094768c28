package dev.protomatch.server;

import static org.assertj.core.api.Assertions.assertThat;

import dev.protomatch.decision.RoutingDecision;
import dev.protomatch.policy.Expectation;
import dev.protomatch.policy.PolicyDocument;
import dev.protomatch.policy.ServicePolicy;
import dev.protomatch.policy.Settings;
import dev.protomatch.registry.Advertisement;
import dev.protomatch.registry.EndpointAddress;
import dev.protomatch.registry.EndpointRegistration;
import dev.protomatch.registry.InMemoryEndpointRegistry;
import dev.protomatch.registry.Locality;
import dev.protomatch.testing.Fingerprints;
import dev.protomatch.testing.TestClock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeSet;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/** Recomputations are announced, changed or not, and only changed decisions are handed on. */
class RoutingUpdaterTest {
  private final TestClock clock = TestClock.atEpochPlusOneDay();
  private final InMemoryEndpointRegistry registry = new InMemoryEndpointRegistry(clock);
  private final ScheduledExecutorService scheduler = Executors.newSingleThreadScheduledExecutor();
  private final PolicyDocument policies = new PolicyDocument(Settings.defaults(), List.of(new ServicePolicy(
      "demo.Greeter", "greeter", new Expectation.RequiredMethods(new TreeSet<>(List.of("SayHello"))),
      ServicePolicy.WhenNoneQualify.FAIL_CLOSED, ServicePolicy.WithoutReflection.TRUST_ADVERTISED, List.of())));
  private final RoutingUpdater updater =
      new RoutingUpdater(() -> policies, registry, clock, scheduler, Duration.ofMillis(10));

  @AfterEach
  void stop() {
    updater.close();
    scheduler.shutdownNow();
  }

  @Test
  void everyRecomputationIsAnnouncedWithWhetherItChangedTheDecision() {
    List<RoutingDecision> decisions = new ArrayList<>();
    List<RoutingUpdater.Recomputation> recomputations = new ArrayList<>();
    updater.addListener(decisions::add);
    updater.addRecomputationListener(recomputations::add);

    updater.updateNow();
    updater.updateNow();
    registry.register(new EndpointRegistration(new EndpointAddress("127.0.0.1", 50051), Locality.UNKNOWN, Map.of(), 1,
        List.of(Advertisement.of(Fingerprints.greeterV2())), "agent"), Duration.ofSeconds(30));
    updater.updateNow();

    assertThat(recomputations).extracting(RoutingUpdater.Recomputation::changed).containsExactly(true, false, true);
    assertThat(recomputations).allSatisfy(r -> assertThat(r.elapsed().isNegative()).isFalse());
    assertThat(decisions).hasSize(2);
  }

  @Test
  void burstOfRegistrationsIsCoalescedIntoFewDecisions() {
    RoutingUpdater coalescing = new RoutingUpdater(() -> policies, registry, clock, scheduler, Duration.ofMillis(500));
    List<RoutingUpdater.Recomputation> recomputations = new java.util.concurrent.CopyOnWriteArrayList<>();
    coalescing.addRecomputationListener(recomputations::add);
    registry.addListener(coalescing::requestUpdate);

    for (int port = 1; port <= 200; port++) {
      registry.register(new EndpointRegistration(new EndpointAddress("127.0.0.1", port), Locality.UNKNOWN, Map.of(), 1,
          List.of(Advertisement.of(Fingerprints.greeterV2())), "agent"), Duration.ofSeconds(30));
    }

    org.awaitility.Awaitility.await().atMost(Duration.ofSeconds(10)).until(() -> coalescing.current() != null
        && coalescing.current().services().get("demo.Greeter").included().size() == 200);
    // The burst's first change is decided at once, the other 199 together at the end of the window.
    assertThat(recomputations.size()).isBetween(2, 3);
  }
}
