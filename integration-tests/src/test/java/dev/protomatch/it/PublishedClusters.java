package dev.protomatch.it;

import dev.protomatch.decision.RoutableEndpoint;
import dev.protomatch.decision.ServiceDecision;
import dev.protomatch.xds.SnapshotBuilder;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.stream.Collectors;

/** What a decision says a client should hold: cluster name to endpoint addresses ({@code host:port}). */
final class PublishedClusters {
  private PublishedClusters() {}

  /**
   * The service's prefix cluster (empty unless it fell open) and, per set of builds some method is routed
   * to, that set's cluster with its endpoints.
   */
  static Map<String, Set<String>> of(ServiceDecision decision) {
    String cluster = decision.policy().cluster();
    Map<String, Set<String>> clusters = new TreeMap<>();
    clusters.put(cluster, addresses(decision.fallback()));
    decision.routes().forEach((method, route) -> {
      if (!route.builds().isEmpty()) {
        clusters.put(SnapshotBuilder.buildSetCluster(cluster, route.builds()), addresses(decision.endpointsOf(route.builds())));
      }
    });
    return clusters;
  }

  /** The cluster {@code method}'s calls go to. */
  static String of(ServiceDecision decision, String method) {
    return SnapshotBuilder.buildSetCluster(decision.policy().cluster(), decision.routes().get(method).builds());
  }

  static Set<String> addresses(List<RoutableEndpoint> endpoints) {
    return endpoints.stream().map(e -> e.address().host() + ":" + e.address().port()).collect(Collectors.toSet());
  }
}
