package dev.protomatch.registry;

/**
 * Delays between retries of an etcd watch: 250 ms, doubling up to 5 s, back to 250 ms once a retry succeeded.
 * Not thread-safe: used from its owner's single thread.
 */
final class Backoff {
  static final long FIRST_MILLIS = 250;
  static final long MAX_MILLIS = 5_000;

  private long nextMillis = FIRST_MILLIS;

  /** The delay before the next retry; each call doubles the one after it, up to the maximum. */
  long next() {
    long wait = nextMillis;
    nextMillis = Math.min(MAX_MILLIS, nextMillis * 2);
    return wait;
  }

  /** A retry succeeded: the next failure waits the first delay again. */
  void reset() {
    nextMillis = FIRST_MILLIS;
  }
}
