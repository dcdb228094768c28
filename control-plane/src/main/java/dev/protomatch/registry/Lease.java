package dev.protomatch.registry;

import java.time.Duration;
import java.time.Instant;

/**
 * A registration's lease: the endpoint counts as alive until {@code expiresAt} unless renewed. A process
 * killed without deregistering stops renewing and so drops out after at most one TTL.
 */
public record Lease(String id, Duration ttl, Instant expiresAt) {
  public boolean isExpired(Instant now) {
    return !now.isBefore(expiresAt);
  }
}
