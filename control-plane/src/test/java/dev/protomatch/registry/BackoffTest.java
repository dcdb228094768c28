package dev.protomatch.registry;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

class BackoffTest {
  @Test
  void doublesFrom250MillisUpTo5Seconds() {
    Backoff backoff = new Backoff();
    List<Long> delays = new ArrayList<>();
    for (int i = 0; i < 8; i++) {
      delays.add(backoff.next());
    }
    assertThat(delays).containsExactly(250L, 500L, 1_000L, 2_000L, 4_000L, 5_000L, 5_000L, 5_000L);
  }

  @Test
  void resetStartsOver() {
    Backoff backoff = new Backoff();
    backoff.next();
    backoff.next();
    backoff.reset();
    assertThat(backoff.next()).isEqualTo(250L);
  }
}
