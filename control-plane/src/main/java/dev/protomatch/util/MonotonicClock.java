package dev.protomatch.util;

import java.time.Clock;
import java.time.Instant;
import java.time.ZoneId;
import java.time.ZoneOffset;
import java.util.function.LongSupplier;

/**
 * A clock that reads the wall clock once, when created, and from then on advances with the monotonic
 * {@code System.nanoTime()}: leases, probe schedules and debounces measured with it are not shortened or
 * stretched when NTP (or an operator) steps the wall clock. The instants it gives stay close to wall time
 * while the wall clock only slews, and are what views display; after a step they differ from the wall clock
 * by that step until the process restarts.
 */
public final class MonotonicClock extends Clock {
  private final Instant anchor;
  private final long anchorNanos;
  private final LongSupplier nanoTime;

  /**
   * @param anchor the wall time read once at creation
   * @param nanoTime a monotonic nanosecond counter ({@code System::nanoTime} in production)
   */
  public MonotonicClock(Instant anchor, LongSupplier nanoTime) {
    this.anchor = anchor;
    this.nanoTime = nanoTime;
    this.anchorNanos = nanoTime.getAsLong();
  }

  /** Anchored at the current wall time, advancing with {@code System.nanoTime()}. */
  public static MonotonicClock startingNow() {
    return new MonotonicClock(Instant.now(), System::nanoTime);
  }

  @Override
  public Instant instant() {
    return anchor.plusNanos(nanoTime.getAsLong() - anchorNanos);
  }

  @Override
  public long millis() {
    return instant().toEpochMilli();
  }

  @Override
  public ZoneId getZone() {
    return ZoneOffset.UTC;
  }

  /** Instants have no zone; this clock only ever answers in UTC. */
  @Override
  public Clock withZone(ZoneId zone) {
    if (zone.equals(ZoneOffset.UTC)) {
      return this;
    }
    throw new UnsupportedOperationException("MonotonicClock is UTC only");
  }
}
