package dev.protomatch.xds;

import io.envoyproxy.envoy.config.cluster.v3.Cluster;
import io.envoyproxy.envoy.config.endpoint.v3.ClusterLoadAssignment;
import java.time.Duration;
import java.time.Instant;
import java.util.HashMap;
import java.util.Map;
import java.util.TreeMap;

/**
 * Make-before-break for clusters: a cluster the new routes no longer lead to stays published, with the
 * assignment it last had, for {@code grace} after it was dropped. Clients apply routes, clusters and
 * assignments independently; one that still holds the older routes keeps a cluster to send those calls
 * to, and java-control-plane's cache answers no ADS request naming a resource its snapshot lacks, so a
 * cluster a client still subscribes to must not vanish before that client has the routes without it.
 *
 * <p>Safe by construction: a cluster's name fixes the builds it holds (see {@link SnapshotBuilder}), so a
 * retained cluster still only leads to builds serving the methods routed to it. A retained cluster is
 * dropped at the first publication after its grace period.
 *
 * <p>Not thread-safe: owned by the publishing thread. Time is passed in.
 */
final class ClusterRetention {
  private record Retired(Cluster cluster, ClusterLoadAssignment assignment, Instant droppedAt) {}

  private final Duration grace;
  /** What the last call returned, by cluster name. */
  private Map<String, Cluster> lastClusters = Map.of();
  private Map<String, ClusterLoadAssignment> lastAssignments = Map.of();
  private final Map<String, Retired> retired = new HashMap<>();

  ClusterRetention(Duration grace) {
    this.grace = grace;
  }

  /** What to publish at {@code now}: {@code next}, plus the clusters dropped from it less than grace ago. */
  XdsResources apply(XdsResources next, Instant now) {
    Map<String, Cluster> clusters = new TreeMap<>();
    next.clusters().forEach(c -> clusters.put(c.getName(), c));
    Map<String, ClusterLoadAssignment> assignments = new TreeMap<>();
    next.endpoints().forEach(a -> assignments.put(a.getClusterName(), a));

    lastClusters.forEach((name, cluster) -> {
      if (!clusters.containsKey(name) && !retired.containsKey(name)) {
        retired.put(name, new Retired(cluster, lastAssignments.get(name), now));
      }
    });
    retired.keySet().removeIf(name -> clusters.containsKey(name)
        || !retired.get(name).droppedAt().plus(grace).isAfter(now));
    retired.forEach((name, r) -> {
      clusters.put(name, r.cluster());
      if (r.assignment() != null) {
        assignments.put(name, r.assignment());
      }
    });

    lastClusters = clusters;
    lastAssignments = assignments;
    if (retired.isEmpty()) {
      return next;
    }
    return new XdsResources(java.util.List.copyOf(clusters.values()), java.util.List.copyOf(assignments.values()),
        next.listeners(), next.routes());
  }
}
