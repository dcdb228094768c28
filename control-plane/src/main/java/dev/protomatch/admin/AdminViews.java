package dev.protomatch.admin;

import java.util.List;
import java.util.Map;

/**
 * The admin API's JSON documents, as records: field names are the API (snake_case on the wire, see
 * {@link AdminJson}) and are documented in {@code docs/admin-api.md}. Add fields freely; never rename.
 */
public final class AdminViews {
  private AdminViews() {}

  /** GET /v1/services. */
  public record Services(String decidedAt, long registryVersion, List<Service> services) {}

  public record Service(
      String service, String cluster, Expectation expected, ExpectedSurface expectedSurface, String outcome,
      List<Included> included, List<Excluded> excluded, Map<String, List<String>> methods, String failsClosed,
      List<String> methodsFailingClosed) {
    /** The methods whose calls are routed to {@code address}, sorted (from {@link #methods}). */
    public List<String> methodsRoutedTo(String address) {
      java.util.Set<String> routed = new java.util.TreeSet<>();
      if (methods != null) {
        methods.forEach((method, addresses) -> {
          if (addresses.contains(address)) {
            routed.add(method);
          }
        });
      }
      return List.copyOf(routed);
    }

    /**
     * Whether {@code address} takes calls to some of the methods routed to endpoints, not all: an older build beside a
     * newer one. A method no endpoint takes (its calls fail closed) does not count.
     */
    public boolean takesSomeRoutedMethodsOnly(String address) {
      if (methods == null) {
        return false;
      }
      long routedAnywhere = methods.values().stream().filter(addresses -> !addresses.isEmpty()).count();
      return methodsRoutedTo(address).size() < routedAnywhere;
    }
  }

  /** kind: methods, api, schema or newest; the other fields as the kind needs. */
  public record Expectation(String kind, List<String> methods, String hash) {}

  /** The build the route follows, when one is known. */
  public record ExpectedSurface(String api, String schema, List<String> methods) {}

  /**
   * An endpoint taking some of the service's calls. {@code unqualified} is left out (null) unless the endpoint
   * takes them only because the policy fails open ({@code none_qualified_fail_open}): then it says why the endpoint
   * did not qualify.
   */
  public record Included(String address, String api, String locality, int weight, Unqualified unqualified) {}

  /** Why an endpoint taking calls under fail-open did not qualify: the same code and text as {@link Excluded}'s. */
  public record Unqualified(String reasonCode, String reason) {}

  public record Excluded(String address, String reasonCode, String reason, String api) {}

  /** GET /v1/endpoints. */
  public record Endpoints(long registryVersion, List<Endpoint> endpoints) {}

  public record Endpoint(
      String address, String source, String client, String registeredAt, Lease lease, String locality,
      Map<String, String> labels, int weight, List<ServiceBuild> services, Probe probe) {}

  /** The lease id is a capability (it renews and deregisters), so it is not shown. */
  public record Lease(long ttlSeconds, String expiresAt, boolean expired) {}

  public record ServiceBuild(
      String service, String advertisedApi, String advertisedSchema, String probedApi, String probedSchema,
      List<String> methods) {}

  /** state: ok, failed or not_probed. */
  public record Probe(String state, String at, String protocol, String failureKind, String error,
                      int consecutiveFailures) {}

  /** GET /v1/clients; {@code rejectedSnapshots} is left out (null) while no snapshot is refused. */
  public record Clients(List<Client> clients, List<RejectedSnapshot> rejectedSnapshots) {
    public Clients(List<Client> clients) {
      this(clients, null);
    }
  }

  /**
   * A node group whose newest snapshot the pre-flight check refused; its clients keep the versions in force
   * (by type name: clusters, endpoints, listeners, routes; none if nothing was ever published for the group).
   */
  public record RejectedSnapshot(String nodeGroup, List<String> problems, String since, String at,
                                 Map<String, String> versionsInForce) {}

  public record Client(
      long streamId, String nodeId, String cluster, String userAgent, String protocol, String connectedAt,
      Map<String, ResourceType> resources) {}

  public record ResourceType(String sentVersion, String ackedVersion, Nack lastNack) {}

  public record Nack(String version, String errorDetail, String at) {}

  /** GET /v1/policies. */
  public record Policies(String source, long version, String loadedAt, String sha256, List<ServicePolicy> services,
                         Reload lastReload) {}

  /**
   * One service's policy in force, data-plane keys included as they apply: {@code maxTimeout},
   * {@code upstreamTls} and {@code outlierDetection} are left out (null) when the policy has none, and every
   * other data-plane value is shown with its default filled in.
   */
  public record ServicePolicy(String service, String cluster, Expectation expected, String whenNoneQualify,
                              String withoutReflection, List<String> staticEndpoints, String maxTimeout,
                              CircuitBreakers circuitBreakers, Retries retries, UpstreamTls upstreamTls,
                              OutlierDetection outlierDetection) {}

  public record CircuitBreakers(int maxConnections, int maxPendingRequests, int maxRequests) {}

  /** {@code budgetPercent} is left out (null) when there is no retry budget. */
  public record Retries(boolean enabled, List<String> retryOn, int maxRetries, Integer budgetPercent,
                        List<String> withoutRetries) {}

  /** {@code sni} is left out (null) when none is sent. */
  public record UpstreamTls(String caFile, String sni) {}

  public record OutlierDetection(int consecutiveErrors, int consecutiveGatewayErrors, String baseEjectionTime,
                                 int maxEjectionPercent) {}

  public record Reload(String at, boolean accepted, List<String> errors) {}

  /**
   * GET /v1/replicas: this replica and the other live replicas sharing its etcd registry (none in-memory);
   * {@code policyMismatches} counts the peers whose {@code policySha256} differs from this replica's.
   */
  public record Replicas(Replica replica, int policyMismatches, List<Peer> peers) {}

  /**
   * This replica. {@code registry} is {@code in-memory} or the etcd members; the etcd fields
   * ({@code appliedRevision}, {@code connected}, {@code lastError}, {@code resyncs}, {@code probeLeader}) are
   * left out (null) in-memory, and {@code lastError} and {@code probeLeader} also while there is none.
   */
  public record Replica(String id, String registry, Long appliedRevision, Boolean connected, String lastError,
                        Long resyncs, String probeLeader, String policySha256, long policyVersion,
                        String startedAt) {}

  /** Another replica as it describes itself in etcd; the addresses are left out (null) when it gave none. */
  public record Peer(String id, String policySha256, long policyVersion, String startedAt, String xdsAddress,
                     String adminAddress, boolean samePolicy) {}

  /** Any error answer. */
  public record Error(int status, String error) {}
}
