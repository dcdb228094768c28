package dev.protomatch.registry;

import io.etcd.jetcd.Client;
import java.time.Duration;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

/**
 * One etcd lease that a replica holds for keys of its own (its probe leadership, its replica record): granted
 * on demand, kept alive by its owner calling {@link #renew()} every third of the TTL, revoked on close so that
 * the keys on it disappear at once rather than after the TTL.
 *
 * <p>Not thread-safe: used only from its owner's single thread. Every etcd call waits at most the timeout and
 * fails with an {@link IllegalStateException} whose message says why (owners log it as one line).
 */
final class OwnedLease {
  private final Client client;
  private final long ttlSeconds;
  private final Duration timeout;
  private long id; // 0 when none

  OwnedLease(Client client, Duration ttl, Duration timeout) {
    this.client = client;
    this.ttlSeconds = Math.max(1, ttl.toSeconds());
    this.timeout = timeout;
  }

  /** The TTL asked for, in whole seconds (at least 1). */
  long ttlSeconds() {
    return ttlSeconds;
  }

  /** How often an owner should call {@link #renew()}: a third of the TTL, at least 200 ms. */
  long renewEveryMillis() {
    return Math.max(200, TimeUnit.SECONDS.toMillis(ttlSeconds) / 3);
  }

  /** The lease held, 0 when none. */
  long id() {
    return id;
  }

  boolean held() {
    return id != 0;
  }

  /** The lease held, granted first if there is none. */
  long acquire() {
    if (id == 0) {
      id = await(client.getLeaseClient().grant(ttlSeconds), timeout).getID();
    }
    return id;
  }

  /**
   * Keeps the held lease alive. Returns false if etcd forgot it (it expired during an outage): the keys on it are
   * gone and none is held any more. True when none was held.
   */
  boolean renew() {
    if (id == 0) {
      return true;
    }
    try {
      if (await(client.getLeaseClient().keepAliveOnce(id), timeout).getTTL() > 0) {
        return true;
      }
    } catch (IllegalStateException e) {
      if (!String.valueOf(e.getMessage()).contains("lease not found")) {
        throw e;
      }
    }
    id = 0;
    return false;
  }

  /** Revokes the held lease; empty when done (or none held), else why not (the lease then expires by its TTL). */
  Optional<String> revoke() {
    long held = id;
    id = 0;
    if (held == 0) {
      return Optional.empty();
    }
    try {
      await(client.getLeaseClient().revoke(held), timeout);
      return Optional.empty();
    } catch (IllegalStateException e) {
      return Optional.of(e.getMessage());
    }
  }

  /** Waits at most {@code timeout} for an etcd call; any failure is an {@link IllegalStateException} saying why. */
  static <T> T await(CompletableFuture<T> future, Duration timeout) {
    try {
      return future.get(timeout.toMillis(), TimeUnit.MILLISECONDS);
    } catch (TimeoutException e) {
      future.cancel(true);
      throw new IllegalStateException("no answer within " + timeout.toMillis() + " ms");
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException("interrupted");
    } catch (ExecutionException e) {
      throw new IllegalStateException(String.valueOf(e.getCause().getMessage()), e.getCause());
    }
  }
}
