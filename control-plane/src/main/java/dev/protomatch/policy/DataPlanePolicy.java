package dev.protomatch.policy;

import java.nio.file.Path;
import java.time.Duration;
import java.util.Collections;
import java.util.List;
import java.util.Optional;
import java.util.OptionalInt;
import java.util.SortedSet;
import java.util.TreeSet;

/**
 * How clients' data planes treat one service's calls: deadlines, concurrency limits, retries, upstream TLS
 * and outlier detection. Every part has a default, so a policy entry without these keys gets
 * {@link #DEFAULTS}. What each part becomes in xDS is documented on {@code xds.SnapshotBuilder} and in
 * {@code envoy-config/README.md}.
 *
 * @param maxTimeout the longest a call may take: callers' longer (or missing) deadlines are cut to it;
 *     empty for no limit other than the caller's own deadline
 * @param circuitBreakers the cluster's concurrency limits
 * @param retries the routes' retry policy
 * @param upstreamTls TLS from the sidecar to the service's endpoints (Envoy nodes only); empty for plaintext
 * @param outlierDetection ejection of failing endpoints (Envoy nodes only); empty for none
 */
public record DataPlanePolicy(
    Optional<Duration> maxTimeout,
    CircuitBreakers circuitBreakers,
    Retries retries,
    Optional<UpstreamTls> upstreamTls,
    Optional<OutlierDetection> outlierDetection) {

  /** No maximum timeout, high circuit breakers, safe retries, plaintext, no outlier detection. */
  public static final DataPlanePolicy DEFAULTS = new DataPlanePolicy(
      Optional.empty(), CircuitBreakers.DEFAULTS, Retries.DEFAULTS, Optional.empty(), Optional.empty());

  /**
   * Per-cluster concurrency limits (Envoy's circuit-breaker thresholds; proxyless gRPC clients read
   * {@code maxRequests} only, gRFC A32).
   */
  public record CircuitBreakers(int maxConnections, int maxPendingRequests, int maxRequests) {
    /**
     * The largest value every reader takes as a positive number (uint32 fields read as signed 32-bit
     * integers elsewhere): in effect no limit, like Istio's 2^32 - 1, because Envoy's documented default of
     * 1,024 per cluster fails the 1,025th concurrent stream with a 503 overflow.
     */
    public static final int UNLIMITED = Integer.MAX_VALUE;
    public static final CircuitBreakers DEFAULTS = new CircuitBreakers(UNLIMITED, UNLIMITED, UNLIMITED);
  }

  /**
   * The routes' retry policy.
   *
   * @param enabled false: routes carry no retry policy (for services whose methods must not run twice)
   * @param retryOn Envoy retry conditions, in the order written
   * @param maxRetries retries after the first attempt
   * @param budgetPercent when present, the share of a cluster's active requests that may be retries
   *     (Envoy's retry budget); absent, concurrent retries are not limited
   * @param withoutRetries simple names of the service's methods whose calls are never retried (methods that
   *     must not run twice), sorted; a name need not be a method any build serves yet
   */
  public record Retries(boolean enabled, List<String> retryOn, int maxRetries, OptionalInt budgetPercent,
                        SortedSet<String> withoutRetries) {
    /** Retry conditions accepted in a policy file. */
    public static final List<String> CONDITIONS = List.of(
        "connect-failure", "refused-stream", "reset", "unavailable", "cancelled", "deadline-exceeded",
        "internal", "resource-exhausted");
    /** Safe for every method: the call never reached the service, or it answered UNAVAILABLE. */
    public static final List<String> DEFAULT_RETRY_ON = List.of("connect-failure", "refused-stream", "unavailable");
    public static final int DEFAULT_MAX_RETRIES = 2;
    public static final Retries DEFAULTS = new Retries(true, DEFAULT_RETRY_ON, DEFAULT_MAX_RETRIES, OptionalInt.empty());

    public Retries {
      retryOn = List.copyOf(retryOn);
      withoutRetries = Collections.unmodifiableSortedSet(new TreeSet<>(withoutRetries));
    }

    /** Retries for every method of the service. */
    public Retries(boolean enabled, List<String> retryOn, int maxRetries, OptionalInt budgetPercent) {
      this(enabled, retryOn, maxRetries, budgetPercent, new TreeSet<>());
    }

    /** Whether calls to this method (simple name) are retried: retries are on and the method is not opted out. */
    public boolean appliesTo(String method) {
      return enabled && !withoutRetries.contains(method);
    }
  }

  /**
   * TLS to the service's endpoints.
   *
   * @param caFile PEM file of the certificate authorities that sign the endpoints' certificates, read by Envoy
   * @param sni the server name sent and verified; empty to send none and verify only the CA
   */
  public record UpstreamTls(Path caFile, Optional<String> sni) {}

  /**
   * Ejecting endpoints that keep failing.
   *
   * @param consecutiveErrors consecutive errors (5xx, including gRPC statuses Envoy maps to them) that eject
   * @param consecutiveGatewayErrors consecutive gateway errors (502, 503, 504, connection failures) that eject
   * @param baseEjectionTime how long the first ejection lasts (longer for each repeat)
   * @param maxEjectionPercent the largest share of the cluster's endpoints ejected at once
   */
  public record OutlierDetection(
      int consecutiveErrors, int consecutiveGatewayErrors, Duration baseEjectionTime, int maxEjectionPercent) {
    public static final int DEFAULT_CONSECUTIVE_ERRORS = 5;
    public static final int DEFAULT_CONSECUTIVE_GATEWAY_ERRORS = 5;
    public static final Duration DEFAULT_BASE_EJECTION_TIME = Duration.ofSeconds(30);
    public static final int DEFAULT_MAX_EJECTION_PERCENT = 10;
  }
}
