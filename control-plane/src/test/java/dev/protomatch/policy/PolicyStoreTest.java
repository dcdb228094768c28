package dev.protomatch.policy;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/** The policy in force: versions, listeners, and refused changes that keep the last good policy. */
class PolicyStoreTest {
  private static final Instant T0 = Instant.parse("2025-01-01T00:00:00Z");

  private final PolicyStore store = new PolicyStore(new SteppingClock(T0));
  private final PolicyDocument withGreeter = PolicyFixtures.parse("""
      services:
        - service: demo.Greeter
          cluster: demo-greeter
          expect: newest
      """);

  @Test
  void startsWithTheBuiltInDefaultsAsVersionZero() {
    AppliedPolicy current = store.current();

    assertThat(current.document()).isEqualTo(PolicyDocument.empty());
    assertThat(current.source()).isEqualTo(PolicyStore.BUILT_IN);
    assertThat(current.version()).isZero();
    assertThat(current.loadedAt()).isEqualTo(T0);
    assertThat(store.lastOutcome()).isEmpty();
  }

  @Test
  void acceptedChangeBecomesTheNextVersionAndIsAnnounced() {
    List<AppliedPolicy> announced = new ArrayList<>();
    store.addListener(announced::add);

    ReloadOutcome outcome = store.apply(withGreeter, "p.yaml", "00aa");

    AppliedPolicy expected = new AppliedPolicy(withGreeter, "p.yaml", 1, T0.plusSeconds(1), "00aa");
    assertThat(store.current()).isEqualTo(expected);
    assertThat(announced).containsExactly(expected);
    assertThat(outcome).isEqualTo(new ReloadOutcome(T0.plusSeconds(1), true, List.of()));
    assertThat(store.lastOutcome()).contains(outcome);
  }

  @Test
  void refusedChangeKeepsThePolicyInForceAndRecordsItsErrors() {
    store.apply(withGreeter, "p.yaml", "00aa");
    AppliedPolicy good = store.current();
    List<AppliedPolicy> announced = new ArrayList<>();
    store.addListener(announced::add);
    List<PolicyError> errors = List.of(new PolicyError("p.yaml", 3, 18, "settings.lease.default-ttl: bad"));

    ReloadOutcome outcome = store.refuse(errors);

    assertThat(outcome.accepted()).isFalse();
    assertThat(outcome.errors()).isEqualTo(errors);
    assertThat(store.lastOutcome()).contains(outcome);
    assertThat(store.current()).isEqualTo(good);
    assertThat(announced).isEmpty();
  }

  @Test
  void sameSourceWithSameContentIsNoNewVersion() {
    store.apply(withGreeter, "p.yaml", "00aa");
    List<AppliedPolicy> announced = new ArrayList<>();
    store.addListener(announced::add);

    ReloadOutcome outcome = store.apply(withGreeter, "p.yaml", "00aa");

    assertThat(outcome.accepted()).isTrue();
    assertThat(store.current().version()).isOne();
    assertThat(announced).isEmpty();
  }

  @Test
  void listenerThatThrowsDoesNotStopTheOthersOrTheChange() {
    List<Long> versions = new ArrayList<>();
    store.addListener(policy -> {
      throw new IllegalStateException("listener bug");
    });
    store.addListener(policy -> versions.add(policy.version()));

    store.apply(withGreeter, "p.yaml", "00aa");

    assertThat(versions).containsExactly(1L);
    assertThat(store.current().version()).isOne();
  }

  @Test
  void everyOutcomeIsAnnouncedAcceptedUnchangedOrRefused() {
    List<ReloadOutcome> outcomes = new ArrayList<>();
    store.addOutcomeListener(outcomes::add);

    ReloadOutcome changed = store.apply(withGreeter, "p.yaml", "00aa");
    ReloadOutcome unchanged = store.apply(withGreeter, "p.yaml", "00aa");
    ReloadOutcome refused = store.refuse(List.of(new PolicyError("p.yaml", 1, 1, "bad")));

    assertThat(outcomes).containsExactly(changed, unchanged, refused);
    assertThat(outcomes).extracting(ReloadOutcome::accepted).containsExactly(true, true, false);
  }
}
