package dev.protomatch.util;

import static org.assertj.core.api.Assertions.assertThat;

import dev.protomatch.registry.Advertisement;
import dev.protomatch.registry.EndpointAddress;
import dev.protomatch.registry.EndpointRegistration;
import dev.protomatch.registry.InMemoryEndpointRegistry;
import dev.protomatch.registry.Lease;
import dev.protomatch.registry.Locality;
import dev.protomatch.testing.TestClock;
import java.time.Clock;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;

/** Leases measured with the monotonic clock survive a wall-clock step; measured with the wall clock, they do not. */
class MonotonicClockTest {
  private static final Duration TTL = Duration.ofSeconds(30);
  private static final EndpointAddress ADDRESS = new EndpointAddress("127.0.0.1", 50051);

  private final TestClock wall = TestClock.atEpochPlusOneDay();
  private final AtomicLong nanos = new AtomicLong(123_456_789L);

  @Test
  void startsAtTheWallTimeAndAdvancesWithTheNanosecondCounter() {
    MonotonicClock clock = new MonotonicClock(wall.instant(), nanos::get);

    nanos.addAndGet(Duration.ofMillis(1_500).toNanos());

    assertThat(clock.instant()).isEqualTo(wall.instant().plusMillis(1_500));
  }

  @Test
  void aWallClockStepExpiresNoLease() {
    InMemoryEndpointRegistry registry = new InMemoryEndpointRegistry(new MonotonicClock(wall.instant(), nanos::get));
    Lease lease = registry.register(registration(), TTL);

    wall.advance(Duration.ofHours(1)); // NTP steps the wall clock an hour ahead
    nanos.addAndGet(Duration.ofSeconds(10).toNanos());

    assertThat(registry.renew(lease.id())).isPresent();
    assertThat(registry.removeExpired(Duration.ZERO)).isEmpty();
  }

  @Test
  void onTheWallClockTheSameStepExpiresTheLease() {
    Clock wallClock = wall;
    InMemoryEndpointRegistry registry = new InMemoryEndpointRegistry(wallClock);
    Lease lease = registry.register(registration(), TTL);

    wall.advance(Duration.ofHours(1));

    assertThat(registry.renew(lease.id())).isEmpty();
  }

  private static EndpointRegistration registration() {
    return new EndpointRegistration(ADDRESS, Locality.UNKNOWN, Map.of(), 1,
        List.of(new Advertisement("demo.Greeter", Optional.empty(), Optional.empty(), Optional.empty())), "test");
  }

}
