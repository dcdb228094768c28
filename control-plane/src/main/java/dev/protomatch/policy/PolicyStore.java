package dev.protomatch.policy;

import dev.protomatch.util.Listeners;
import java.time.Clock;
import java.util.List;
import java.util.Optional;
import java.util.function.Consumer;

/**
 * Holds the policy in force and the outcome of the last attempt to change it. A refused change keeps
 * the last good policy: a bad edit must never take routing down.
 *
 * <p>Thread-safe. Reads never block; changes are serialized, and listeners are told about each
 * accepted change in version order, on the thread that made it. Time comes from the injected clock.
 */
public final class PolicyStore {
  /** The {@link AppliedPolicy#source()} of the defaults in force before any file is applied. */
  public static final String BUILT_IN = "built-in defaults";


  private final Clock clock;
  private final Listeners<AppliedPolicy> listeners = new Listeners<>("policy change");
  private final Listeners<ReloadOutcome> outcomeListeners = new Listeners<>("policy reload outcome");
  private final Object changeLock = new Object();
  private volatile AppliedPolicy current;
  private volatile ReloadOutcome lastOutcome;

  /** Starts with {@link PolicyDocument#empty()} as version 0. */
  public PolicyStore(Clock clock) {
    this.clock = clock;
    this.current = new AppliedPolicy(PolicyDocument.empty(), BUILT_IN, 0, clock.instant(), AppliedPolicy.sha256Of(new byte[0]));
  }

  /** The policy in force. */
  public AppliedPolicy current() {
    return current;
  }

  /** The outcome of the last attempt to change the policy; empty before the first one. */
  public Optional<ReloadOutcome> lastOutcome() {
    return Optional.ofNullable(lastOutcome);
  }

  /**
   * Calls {@code listener} with each policy accepted from now on (not with the one already in force;
   * read {@link #current()} for that). A listener that throws is logged and does not stop the others.
   */
  public void addListener(Consumer<AppliedPolicy> listener) {
    listeners.add(listener);
  }

  /**
   * Calls {@code listener} with the outcome of every attempt to change the policy from now on, accepted
   * (with or without a new version) or refused, after the policy listeners, on the thread that made it.
   */
  public void addOutcomeListener(Consumer<ReloadOutcome> listener) {
    outcomeListeners.add(listener);
  }

  /**
   * Puts {@code document} in force as the next version and tells the listeners, unless it is the same
   * source with the same content as the policy in force, which changes nothing. Either way the outcome
   * is accepted.
   */
  public ReloadOutcome apply(PolicyDocument document, String source, String sha256) {
    synchronized (changeLock) {
      AppliedPolicy previous = current;
      ReloadOutcome outcome = new ReloadOutcome(clock.instant(), true, List.of());
      lastOutcome = outcome;
      if (previous.source().equals(source) && previous.sha256().equals(sha256)) {
        tell(outcome);
        return outcome;
      }
      AppliedPolicy next = new AppliedPolicy(document, source, previous.version() + 1, outcome.at(), sha256);
      current = next;
      listeners.announce(next);
      tell(outcome);
      return outcome;
    }
  }

  /** Records a refused change; the policy in force stays. */
  public ReloadOutcome refuse(List<PolicyError> errors) {
    synchronized (changeLock) {
      ReloadOutcome outcome = new ReloadOutcome(clock.instant(), false, errors);
      lastOutcome = outcome;
      tell(outcome);
      return outcome;
    }
  }

  private void tell(ReloadOutcome outcome) {
    outcomeListeners.announce(outcome);
  }
}
