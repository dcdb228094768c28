package dev.protomatch.policy;

import java.nio.file.Path;
import java.time.Duration;
import java.util.Optional;

/** Global settings of a policy file; every field has a default (see {@link #defaults()}). */
public record Settings(Lease lease, Probe probe, Auth auth, Limits limits, Registration registration) {

  /** The settings without {@code registration}: registrants may register only their own address. */
  public Settings(Lease lease, Probe probe, Auth auth, Limits limits) {
    this(lease, probe, auth, limits, Registration.OWN_ADDRESS_ONLY);
  }

  /** A copy with {@code auth} instead of this one's. */
  public Settings withAuth(Auth auth) {
    return new Settings(lease, probe, auth, limits, registration);
  }

  /** A copy with {@code registration} instead of this one's. */
  public Settings withRegistration(Registration registration) {
    return new Settings(lease, probe, auth, limits, registration);
  }

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
  public record Limits(int maxMessageBytes, int maxServicesPerEndpoint, int maxEndpointsPerClient, int maxWeight,
                       int maxEndpoints) {
    /** The limits without a global cap of their own: {@link #DEFAULT_MAX_ENDPOINTS}. */
    public Limits(int maxMessageBytes, int maxServicesPerEndpoint, int maxEndpointsPerClient, int maxWeight) {
      this(maxMessageBytes, maxServicesPerEndpoint, maxEndpointsPerClient, maxWeight, DEFAULT_MAX_ENDPOINTS);
    }

    /**
     * Registered endpoints of all clients together, by default: ten times the fleet the scale harness measures
     * (docs/performance.md), a few hundred bytes each in memory.
     */
    public static final int DEFAULT_MAX_ENDPOINTS = 100_000;
  }

  /**
   * Who may register what ({@code settings.registration}); see docs/security.md.
   *
   * @param anyHost whether a registrant may name any address ({@code hosts: any}: a trusted registrar, or a
   *     test fleet); by default ({@code hosts: own}) a registrant names its own address only: the peer address
   *     of its call, or any loopback address when it calls from loopback
   * @param identities with mTLS on the registration port: the client certificate identities (URI or DNS
   *     SANs) that may register, each with the services it may register and the addresses besides its own;
   *     when not empty, a call without a listed identity is refused
   */
  public record Registration(boolean anyHost, java.util.List<IdentityGrant> identities) {
    public static final Registration OWN_ADDRESS_ONLY = new Registration(false, java.util.List.of());

    public Registration {
      identities = java.util.List.copyOf(identities);
    }
  }

  /**
   * What one client certificate identity may register.
   *
   * @param identity a URI SAN ({@code spiffe://...}) or DNS SAN of the client certificate, matched exactly
   * @param services the services it may register ({@code "*"}: any)
   * @param hosts addresses it may name besides its own: IP literals or CIDR blocks ({@code 10.1.0.0/16})
   */
  public record IdentityGrant(String identity, java.util.List<String> services, java.util.List<AddressBlock> hosts) {
    public IdentityGrant {
      services = java.util.List.copyOf(services);
      hosts = java.util.List.copyOf(hosts);
    }
  }

  public static Settings defaults() {
    return new Settings(
        new Lease(Duration.ofSeconds(30), Duration.ofSeconds(5), Duration.ofMinutes(5)),
        new Probe(Duration.ofSeconds(15), Duration.ofSeconds(2), 32, Duration.ofMinutes(5)),
        new Auth(Optional.empty(), Optional.of("PROTOMATCH_REGISTRATION_TOKEN"), false),
        new Limits(4 * 1024 * 1024, 64, 1024, 1_000));
  }
}
