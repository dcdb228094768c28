package dev.protomatch.decision;

import dev.protomatch.descriptor.ServiceFingerprint;
import java.util.Comparator;

/**
 * Which of two builds of a service is newer, as a total order that depends only on the builds themselves:
 * never on when they appeared, in what order, or whether protomatch restarted since.
 *
 * <p>A build with more methods is newer, so a build whose surface strictly contains another's always is
 * (services grow by adding methods). Builds with as many methods are ordered by api hash: deterministic,
 * arbitrary. The order matters only where two builds serve one method with different signatures; then
 * the newer build's signature is the one callers are routed by.
 */
final class BuildOrder {
  /** Older first, newest last. */
  static final Comparator<ServiceFingerprint> OLDEST_FIRST =
      Comparator.<ServiceFingerprint>comparingInt(f -> f.methods().size()).thenComparing(ServiceFingerprint::api);

  private BuildOrder() {}
}
