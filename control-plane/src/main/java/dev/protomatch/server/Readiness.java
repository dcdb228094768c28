package dev.protomatch.server;

import java.util.Optional;
import java.util.function.Supplier;

/**
 * Whether this control plane can serve (what {@code /readyz} answers): ready once the first snapshot is
 * published, for as long as the registry is reachable. Written by the publishing thread and by close, read by
 * the admin server's threads.
 */
final class Readiness {
  private final Supplier<Optional<String>> registryTrouble;
  private volatile boolean published;
  private volatile boolean stopping;

  /** @param registryTrouble why the registry cannot be used right now; empty when it can */
  Readiness(Supplier<Optional<String>> registryTrouble) {
    this.registryTrouble = registryTrouble;
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
