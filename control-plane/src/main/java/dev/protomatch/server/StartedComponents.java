package dev.protomatch.server;

import java.util.ArrayDeque;
import java.util.Deque;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * What a start has started so far, each with how to stop it; {@link #close} stops them in reverse order. A start
 * that fails part-way closes what it already started, and shutdown is the same walk back.
 *
 * <p>Used by the starting thread, then by whoever closes; not thread-safe. A component whose close fails is
 * logged and the walk goes on, so one broken component cannot keep the others (and their ports) alive.
 */
final class StartedComponents implements AutoCloseable {
  private static final Logger log = LoggerFactory.getLogger(StartedComponents.class);

  /** How to stop one component. */
  @FunctionalInterface
  interface Stop {
    void stop() throws Exception;
  }

  private record Started(String name, Stop stop) {}

  private final Deque<Started> started = new ArrayDeque<>();

  /** Records a started component, closed by its own {@code close}; returns it. */
  <T extends AutoCloseable> T add(String name, T component) {
    started.push(new Started(name, component::close));
    return component;
  }

  /** Records a started component with how to stop it. */
  void addStop(String name, Stop stop) {
    started.push(new Started(name, stop));
  }

  /** The names of what is started, newest first (what {@link #close} stops, in order). */
  java.util.List<String> names() {
    return started.stream().map(Started::name).toList();
  }

  /** Stops everything started, newest first; logs (and gets past) components that fail to stop. */
  @Override
  public void close() {
    while (!started.isEmpty()) {
      Started next = started.pop();
      try {
        next.stop().stop();
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        log.warn("interrupted while stopping {}; stopping the rest without waiting", next.name());
      } catch (Exception | LinkageError e) {
        log.warn("stopping {} failed: {}", next.name(), e.toString());
      }
    }
  }
}
