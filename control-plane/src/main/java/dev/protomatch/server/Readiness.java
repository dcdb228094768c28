package dev.protomatch.server;

import java.util.Optional;
import java.util.function.Supplier;

/**
 * Whether this control plane can serve (what {@code /readyz} answers): ready once the first snapshot is
 * published, for as long as the registry is reachable. Written by the publishing thread and by close, read by
 * the admin server's threads.
 */
final class Readiness {
  private volatile Supplier<Optional<String>> registryTrouble = Optional::empty;
  private volatile boolean published;
  private volatile boolean stopping;

  /** Tells readiness why the registry cannot be used right now (empty when it can); none by default. */
  void registryTrouble(Supplier<Optional<String>> trouble) {
    this.registryTrouble = trouble;
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
      return Optional.of("first snapshot not published yet");
    }
    return registryTrouble.get();
  }
}
