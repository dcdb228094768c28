package dev.protomatch.policy;

import java.nio.file.Path;
import java.time.Duration;
import java.util.Optional;

/** Global settings of a policy file; every field has a default (see {@link #defaults()}). */
public record Settings(Lease lease, Probe probe, Auth auth, Limits limits) {

  /**
   * Registration leases: a registration without keep-alives disappears after its TTL.
   *
   * @param defaultTtl granted when the registration asks for none
   * @param minTtl requests below are raised to it
   * @param maxTtl requests above are lowered to it
   */
  public record Lease(Duration defaultTtl, Duration minTtl, Duration maxTtl) {}

  /**
   * Reflection probing of every endpoint.
   *
   * @param interval time between two probes of one healthy endpoint
   * @param timeout the whole reflection exchange with one endpoint
   * @param concurrency probes in flight at once
   * @param maxBackoff longest wait before re-probing an endpoint whose probes keep failing
   */
  public record Probe(Duration interval, Duration timeout, int concurrency, Duration maxBackoff) {}

  /**
   * How registration calls are authenticated. Exactly one of: a bearer token read from a file, one read
   * from an environment variable, or {@code insecure} (no authentication; local development only).
   */
  public record Auth(Optional<Path> tokenFile, Optional<String> tokenEnv, boolean insecure) {
    public static Auth insecureForDevelopment() {
      return new Auth(Optional.empty(), Optional.empty(), true);
    }
  }

  /**
   * Bounds on what one registration call or one client may ask for; over-limit calls are refused.
   *
   * @param maxWeight the largest load-balancing weight a registration may ask for, at most
   *     {@link dev.protomatch.registry.EndpointRegistration#MAX_WEIGHT}
   */
  public record Limits(int maxMessageBytes, int maxServicesPerEndpoint, int maxEndpointsPerClient, int maxWeight) {}

  public static Settings defaults() {
    return new Settings(
        new Lease(Duration.ofSeconds(30), Duration.ofSeconds(5), Duration.ofMinutes(5)),
        new Probe(Duration.ofSeconds(15), Duration.ofSeconds(2), 32, Duration.ofMinutes(5)),
        new Auth(Optional.empty(), Optional.of("PROTOMATCH_REGISTRATION_TOKEN"), false),
        new Limits(4 * 1024 * 1024, 64, 1024, 1_000));
  }
}
