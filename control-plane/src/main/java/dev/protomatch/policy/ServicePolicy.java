package dev.protomatch.policy;

import java.util.List;

/**
 * What one gRPC service's route expects.
 *
 * @param service full name of the gRPC service, e.g. {@code demo.Greeter}
 * @param cluster the Envoy cluster (and proxyless gRPC target) name its endpoints are published under
 * @param expect which endpoints qualify
 * @param whenNoneQualify what to publish when no endpoint qualifies
 * @param withoutReflection how to treat endpoints whose reflection cannot be probed
 * @param staticEndpoints addresses declared in the file for services that cannot register; their hashes
 *     are learned by probing
 * @param dataPlane deadlines, limits, retries, TLS and outlier detection of the service's calls
 */
public record ServicePolicy(
    String service,
    String cluster,
    Expectation expect,
    WhenNoneQualify whenNoneQualify,
    WithoutReflection withoutReflection,
    List<HostPort> staticEndpoints,
    DataPlanePolicy dataPlane) {

  public ServicePolicy {
    staticEndpoints = List.copyOf(staticEndpoints);
  }

  /** A policy with {@link DataPlanePolicy#DEFAULTS}. */
  public ServicePolicy(String service, String cluster, Expectation expect, WhenNoneQualify whenNoneQualify,
      WithoutReflection withoutReflection, List<HostPort> staticEndpoints) {
    this(service, cluster, expect, whenNoneQualify, withoutReflection, staticEndpoints, DataPlanePolicy.DEFAULTS);
  }

  /** What to publish when no endpoint qualifies. */
  public enum WhenNoneQualify {
    /** No endpoints: callers get UNAVAILABLE (retryable), never UNIMPLEMENTED. The default. */
    FAIL_CLOSED,
    /** Every live endpoint serving the service, as if protomatch did not filter. Logged as a warning. */
    FAIL_OPEN
  }

  /** How to treat an endpoint whose reflection service cannot be asked. */
  public enum WithoutReflection {
    /** Use the hashes the endpoint advertised at registration. The default. */
    TRUST_ADVERTISED,
    /** Exclude it: only probed endpoints take traffic. */
    EXCLUDE
  }
}
