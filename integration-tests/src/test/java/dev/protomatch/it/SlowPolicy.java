package dev.protomatch.it;

/** Policy files for {@link Fleet#start(String)} with protomatch.it.Slow as cluster {@code it-slow}. */
final class SlowPolicy {
  static final String CLUSTER = "it-slow";

  private SlowPolicy() {}

  /** Fleet's settings (3 s leases, 2 s probes) and one entry for protomatch.it.Slow, plus {@code extraKeys}. */
  static String yaml(String... extraKeys) {
    StringBuilder entry = new StringBuilder("""
        settings:
          auth:
            token-env: %s
          lease:
            default-ttl: 3s
            min-ttl: 1s
          probe:
            interval: 2s
            timeout: 2s
        services:
          - service: %s
            cluster: %s
            expect: newest
        """.formatted(Fleet.TOKEN_ENV, SlowServer.SERVICE, CLUSTER));
    for (String key : extraKeys) {
      entry.append("    ").append(key).append('\n');
    }
    return entry.toString();
  }
}
