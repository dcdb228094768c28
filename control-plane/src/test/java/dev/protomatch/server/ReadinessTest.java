package dev.protomatch.server;

import static org.assertj.core.api.Assertions.assertThat;

import dev.protomatch.testing.TestClock;
import java.time.Duration;
import java.util.Optional;
import org.junit.jupiter.api.Test;

/** What {@code /readyz} gives as the reason while the control plane is not ready. */
class ReadinessTest {
  private final TestClock clock = TestClock.atEpochPlusOneDay();
  private final Readiness readiness = new Readiness();

  @Test
  void startingUntilTheFirstSnapshotIsPublished() {
    assertThat(readiness.notReadyBecause()).hasValue("starting: first snapshot not published yet");

    readiness.published();

    assertThat(readiness.notReadyBecause()).isEmpty();
  }

  @Test
  void theWarmUpSaysHowLongUntilTheFirstSnapshot() {
    readiness.warmingUp(clock, Duration.ofSeconds(10));
    assertThat(readiness.notReadyBecause())
        .hasValue("warming up: collecting registrations before the first snapshot, published in 10 s");

    clock.advance(Duration.ofMillis(2_500));
    assertThat(readiness.notReadyBecause())
        .hasValue("warming up: collecting registrations before the first snapshot, published in 8 s");

    clock.advance(Duration.ofSeconds(30));
    assertThat(readiness.notReadyBecause())
        .hasValue("warming up: collecting registrations before the first snapshot, published in 0 s");

    readiness.published();
    assertThat(readiness.notReadyBecause()).isEmpty();
  }

  @Test
  void registryTroubleAfterPublicationAndShuttingDownOverAll() {
    readiness.published();
    readiness.registryTrouble(() -> Optional.of("etcd unreachable (connection refused)"));
    assertThat(readiness.notReadyBecause()).hasValue("etcd unreachable (connection refused)");

    readiness.stopping();
    assertThat(readiness.notReadyBecause()).hasValue("shutting down");
  }
}
