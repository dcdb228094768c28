package dev.protomatch.server;

import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.Optional;
import java.util.function.Supplier;

/**
 * Whether this control plane can serve (what {@code /readyz} answers): ready once the first snapshot is
 * published, for as long as the registry is reachable; otherwise why not, on one line (starting, warming up
 * with the seconds left, the registry's trouble, shutting down). Written by the starting thread, the
 * publishing thread and by close; read by the admin server's threads.
 */
final class Readiness {
  private volatile Supplier<Optional<String>> registryTrouble = Optional::empty;
  /** When the warm-up ends, on {@link #clock}; null without a warm-up. */
  private volatile WarmUp warmUp;
  private volatile boolean published;
  private volatile boolean stopping;

  private record WarmUp(Clock clock, Instant ends) {}

  /** Tells readiness why the registry cannot be used right now (empty when it can); none by default. */
  void registryTrouble(Supplier<Optional<String>> trouble) {
    this.registryTrouble = trouble;
  }

  /** The first snapshot waits {@code warmup} from now (on {@code clock}) while registrations come in. */
  void warmingUp(Clock clock, Duration warmup) {
    this.warmUp = new WarmUp(clock, clock.instant().plus(warmup));
  }

  void published() {
    published = true;
  }

  void stopping() {
    stopping = true;
  }

  /** Why this control plane is not ready; empty when it is. */
  Optional<String> notReadyBecause() {
    if (stopping) {
      return Optional.of("shutting down");
    }
    if (!published) {
      WarmUp current = warmUp;
      if (current == null) {
        return Optional.of("starting: first snapshot not published yet");
      }
      Duration left = Duration.between(current.clock().instant(), current.ends());
      long seconds = left.isNegative() || left.isZero() ? 0 : (left.toMillis() + 999) / 1000;
      return Optional.of("warming up: collecting registrations before the first snapshot, published in "
          + seconds + " s");
    }
    return registryTrouble.get();
  }
}
