package dev.protomatch.policy;

import java.time.Duration;
import java.util.Optional;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Durations as policy files write them: a positive whole number and one unit, {@code 500ms}, {@code 30s},
 * {@code 5m}, {@code 1h}. One unit only, so there is exactly one way to read every value.
 */
public final class DurationText {
  private static final Pattern FORMAT = Pattern.compile("([0-9]{1,18})(ms|s|m|h)");

  private DurationText() {}

  /** The duration, or empty when {@code text} is not a positive duration in this format. */
  static Optional<Duration> parse(String text) {
    Matcher m = FORMAT.matcher(text);
    if (!m.matches()) {
      return Optional.empty();
    }
    long amount = Long.parseLong(m.group(1));
    if (amount == 0) {
      return Optional.empty();
    }
    try {
      return Optional.of(switch (m.group(2)) {
        case "ms" -> Duration.ofMillis(amount);
        case "s" -> Duration.ofSeconds(amount);
        case "m" -> Duration.ofMinutes(amount);
        default -> Duration.ofHours(amount);
      });
    } catch (ArithmeticException tooLong) {
      return Optional.empty();
    }
  }

  /** The shortest text {@link #parse} reads back as {@code duration}: {@code 5m}, not {@code 300s}. */
  public static String format(Duration duration) {
    long millis = duration.toMillis();
    if (millis % 3_600_000 == 0) {
      return millis / 3_600_000 + "h";
    }
    if (millis % 60_000 == 0) {
      return millis / 60_000 + "m";
    }
    if (millis % 1_000 == 0) {
      return millis / 1_000 + "s";
    }
    return millis + "ms";
  }
}
