package dev.protomatch.policy;

import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneId;
import java.time.ZoneOffset;

/** A clock that moves only when the test says so, and one second on each reading, so every stamp differs. */
final class SteppingClock extends Clock {
  private Instant now;

  SteppingClock(Instant start) {
    this.now = start;
  }

  @Override
  public synchronized Instant instant() {
    Instant reading = now;
    now = now.plus(Duration.ofSeconds(1));
    return reading;
  }

  @Override
  public ZoneId getZone() {
    return ZoneOffset.UTC;
  }

  @Override
  public Clock withZone(ZoneId zone) {
    throw new UnsupportedOperationException();
  }
}
