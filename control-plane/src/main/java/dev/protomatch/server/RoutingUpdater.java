package dev.protomatch.server;

import dev.protomatch.util.Listeners;
import dev.protomatch.decision.RegistryChanges;
import dev.protomatch.decision.RoutingDecider;
import dev.protomatch.decision.RoutingDecision;
import dev.protomatch.policy.PolicyDocument;
import dev.protomatch.registry.EndpointRegistry;
import dev.protomatch.registry.RegistryState;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.Set;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.function.Consumer;
import java.util.function.Supplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Recomputes the routing decision when its inputs change and hands changed decisions on (to the snapshot
 * publisher, the admin view, the change log).
 *
 * <p>Changes are coalesced without delaying a lone change: a change arriving when no recomputation ran in
 * the last {@code debounce} is decided at once; changes arriving within {@code debounce} of the last
 * recomputation wait for the end of that window and ride along together, so a burst of registrations
 * becomes at most two decisions and two pushes (its first change, then everything else). A periodic
 * tick catches what changes with time alone (a lease running out). Listeners hear a decision only when it
 * differs from the last one they heard.
 *
 * <p>Under the same policies as the last recomputation, only the services the registry change touched are
 * decided again ({@link RegistryChanges#touchedServices}); the others keep their decision. A recomputation
 * that touches no service (a tick with no lease run out, a registry change made only of renewals) decides
 * nothing. A new policy document (another object) decides every service. {@code base} (the state and time last decided on) is touched only by the recomputing thread,
 * under the instance lock.
 */
public final class RoutingUpdater implements AutoCloseable {
  private static final Logger log = LoggerFactory.getLogger(RoutingUpdater.class);

  private final Supplier<PolicyDocument> policies;
  private final EndpointRegistry registry;
  private final Clock clock;
  private final ScheduledExecutorService scheduler;
  private final Duration debounce;
  private final AtomicBoolean pending = new AtomicBoolean();
  private volatile long lastRunNanos = System.nanoTime() - Long.MAX_VALUE / 4;
  private final Listeners<RoutingDecision> listeners = new Listeners<>("routing decision");
  private final Listeners<Recomputation> recomputationListeners = new Listeners<>("recomputation");
  private volatile RoutingDecision current;
  /** What {@link #current} was decided from. Guarded by this. */
  private Base base;

  private record Base(PolicyDocument policies, RegistryState state, Instant at, RoutingDecision decision) {}
  private volatile ScheduledFuture<?> ticking;

  public RoutingUpdater(Supplier<PolicyDocument> policies, EndpointRegistry registry, Clock clock,
                        ScheduledExecutorService scheduler, Duration debounce) {
    this.policies = policies;
    this.registry = registry;
    this.clock = clock;
    this.scheduler = scheduler;
    this.debounce = debounce;
  }

  /**
   * One recomputation of the decision.
   *
   * @param changed whether the decision differed from the last one and was handed on to the listeners
   * @param elapsed wall time to compute the decision and, when it changed, for every listener to take it
   *     (the snapshot publisher builds and publishes the xDS resources then)
   */
  public record Recomputation(boolean changed, Duration elapsed) {}

  public void addListener(Consumer<RoutingDecision> listener) {
    listeners.add(listener);
  }

  /** Called after every recomputation, changed or not, on the recomputing thread. */
  public void addRecomputationListener(Consumer<Recomputation> listener) {
    recomputationListeners.add(listener);
  }

  /** Adds a listener and hands it the decision in force, atomically with respect to updates. */
  public synchronized void addListenerWithCurrent(Consumer<RoutingDecision> listener) {
    listeners.add(listener);
    if (current != null) {
      listener.accept(current);
    }
  }

  /**
   * Schedules a recomputation unless one is already scheduled: at once if none ran during the last
   * {@code debounce}, else at the end of that window.
   */
  public void requestUpdate() {
    if (pending.compareAndSet(false, true)) {
      long wait = Math.max(0, debounce.toNanos() - (System.nanoTime() - lastRunNanos));
      scheduler.schedule(() -> {
        pending.set(false);
        updateQuietly();
      }, wait, TimeUnit.NANOSECONDS);
    }
  }

  /** Recomputes now; returns the decision in force afterwards. */
  public synchronized RoutingDecision updateNow() {
    long started = System.nanoTime();
    lastRunNanos = started;
    PolicyDocument document = policies.get();
    RegistryState state = registry.state();
    Instant now = clock.instant();
    RoutingDecision next;
    if (base == null || base.policies() != document) {
      next = RoutingDecider.decide(document, state, now);
    } else {
      Set<String> touched = RegistryChanges.touchedServices(base.state(), base.at(), state, now);
      next = touched.isEmpty() ? base.decision()
          : RoutingDecider.decide(document, state, now, base.decision(), touched);
    }
    base = new Base(document, state, now, next);
    RoutingDecision previous = current;
    boolean changed = previous == null || !previous.services().equals(next.services());
    if (changed) {
      current = next;
      listeners.announce(next);
    }
    if (!recomputationListeners.isEmpty()) {
      Recomputation recomputation = new Recomputation(changed, Duration.ofNanos(System.nanoTime() - started));
      recomputationListeners.announce(recomputation);
    }
    return current;
  }

  /** The last decision handed on, or null before the first. */
  public RoutingDecision current() {
    return current;
  }

  /** Recomputes now, then on every registry change (debounced) and every {@code tick}. */
  public void start(Duration tick) {
    updateNow();
    registry.addListener(this::requestUpdate);
    ticking = scheduler.scheduleWithFixedDelay(this::updateQuietly, tick.toMillis(), tick.toMillis(),
        TimeUnit.MILLISECONDS);
  }

  private void updateQuietly() {
    try {
      updateNow();
    } catch (RuntimeException e) {
      log.error("routing decision failed; the last one stays in force", e);
    }
  }

  @Override
  public void close() {
    if (ticking != null) {
      ticking.cancel(false);
    }
  }
}
