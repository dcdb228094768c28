package dev.protomatch.util;

import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.function.Consumer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The listeners of one kind of event, called in the order they were added, on the announcing thread.
 *
 * <p>One failure behaviour everywhere: a listener that throws is logged, with the event's kind, and the
 * remaining listeners still hear the event; the announcer carries on (a listener's bug never stops the
 * component that announces, nor the other listeners). Listeners may be added from any thread, also while an
 * event is being announced (they hear the next one). Announce after releasing your own locks.
 *
 * @param <T> the event; {@link Void} for a bare signal (see {@link #signal()})
 */
public final class Listeners<T> {
  private static final Logger log = LoggerFactory.getLogger(Listeners.class);

  private final String event;
  private final List<Consumer<? super T>> listeners = new CopyOnWriteArrayList<>();

  /** @param event what is announced, for the log line of a failing listener, e.g. "registry change" */
  public Listeners(String event) {
    this.event = event;
  }

  public void add(Consumer<? super T> listener) {
    listeners.add(listener);
  }

  /** Adds a listener that needs no event details. */
  public void add(Runnable listener) {
    listeners.add(ignored -> listener.run());
  }

  /** Whether no listener was added (to skip building an event nobody hears). */
  public boolean isEmpty() {
    return listeners.isEmpty();
  }

  /** Tells every listener, in order; one that throws is logged and skipped. */
  public void announce(T details) {
    for (Consumer<? super T> listener : listeners) {
      try {
        listener.accept(details);
      } catch (RuntimeException e) {
        log.error("a listener of {} failed; the others still hear it", event, e);
      }
    }
  }

  /** For {@code Listeners<Void>}: tells every listener that the event happened. */
  public void signal() {
    announce(null);
  }
}
