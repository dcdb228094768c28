package dev.protomatch.registry;

import dev.protomatch.util.Listeners;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Forgets endpoints whose lease lapsed. Until then the decision already excludes them ("lease expired"),
 * and the admin view shows them, for {@code retention}, so an operator can see that a process died rather
 * than that it never existed.
 */
public final class LeaseSweeper implements AutoCloseable {
  private static final Logger log = LoggerFactory.getLogger(LeaseSweeper.class);

  private final EndpointRegistry registry;
  private final Duration retention;
  private final Listeners<EndpointState> listeners = new Listeners<>("lease expired");
  private volatile ScheduledFuture<?> task;

  public LeaseSweeper(EndpointRegistry registry, Duration retention) {
    this.registry = registry;
    this.retention = retention;
  }

  /** Called with each endpoint forgotten because its lease lapsed, on the sweeping thread. */
  public void addListener(Consumer<EndpointState> onForgotten) {
    listeners.add(onForgotten);
  }

  /** Removes what is due now; returns what it removed. */
  public List<EndpointState> sweep() {
    List<EndpointState> removed = registry.removeExpired(retention);
    for (EndpointState endpoint : removed) {
      log.info("forgot {} ({}): lease expired at {} and was not renewed", endpoint.address(),
          String.join(", ", endpoint.advertised().keySet()), endpoint.lease().map(Lease::expiresAt).orElse(null));
      listeners.announce(endpoint);
    }
    return removed;
  }

  public void start(ScheduledExecutorService scheduler, Duration every) {
    task = scheduler.scheduleWithFixedDelay(() -> {
      try {
        sweep();
      } catch (RuntimeException e) {
        log.error("lease sweep failed", e);
      }
    }, every.toMillis(), every.toMillis(), TimeUnit.MILLISECONDS);
  }

  @Override
  public void close() {
    if (task != null) {
      task.cancel(false);
    }
  }
}
