package dev.protomatch.it;

/** Policy files for {@link Fleet#start(String)} with protomatch.it.Slow as cluster {@code it-slow}. */
final class SlowPolicy {
  static final String CLUSTER = "it-slow";

  private SlowPolicy() {}

  /** Fleet's settings (3 s leases, 2 s probes) and one entry for protomatch.it.Slow, plus {@code extraKeys}. */
  static String yaml(String... extraKeys) {
    String[] keys = new String[extraKeys.length + 1];
    keys[0] = "expect: newest";
    System.arraycopy(extraKeys, 0, keys, 1, extraKeys.length);
    return Fleet.policy(SlowServer.SERVICE, CLUSTER, keys);
  }
}
