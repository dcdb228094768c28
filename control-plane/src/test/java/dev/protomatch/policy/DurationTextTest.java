package dev.protomatch.policy;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Duration;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/** Durations are a positive whole number and one unit: ms, s, m or h. */
class DurationTextTest {

  @Test
  void readsEachUnit() {
    assertThat(DurationText.parse("250ms")).contains(Duration.ofMillis(250));
    assertThat(DurationText.parse("30s")).contains(Duration.ofSeconds(30));
    assertThat(DurationText.parse("5m")).contains(Duration.ofMinutes(5));
    assertThat(DurationText.parse("2h")).contains(Duration.ofHours(2));
  }

  @ParameterizedTest
  @ValueSource(strings = {"0s", "30", "s", "1.5s", "-5s", "30 s", "30S", "1m30s", "5d", "PT30S",
      "999999999999999999h", "9999999999999999999s"})
  void refusesEverythingElse(String text) {
    assertThat(DurationText.parse(text)).isEmpty();
  }

  @Test
  void formatsInTheLargestExactUnit() {
    assertThat(DurationText.format(Duration.ofMillis(1500))).isEqualTo("1500ms");
    assertThat(DurationText.format(Duration.ofSeconds(90))).isEqualTo("90s");
    assertThat(DurationText.format(Duration.ofMinutes(5))).isEqualTo("5m");
    assertThat(DurationText.format(Duration.ofMinutes(120))).isEqualTo("2h");
  }
}
