package dev.protomatch.xds;

import io.envoyproxy.envoy.config.cluster.v3.Cluster;
import io.envoyproxy.envoy.config.endpoint.v3.ClusterLoadAssignment;
import java.time.Duration;
import java.time.Instant;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.function.Predicate;

/**
 * Make-before-break for clusters: a cluster the new routes no longer lead to stays published, with the
 * assignment it last had, until every client has acknowledged routes without it. Clients apply routes,
 * clusters and assignments independently; one that still holds the older routes keeps a cluster to send
 * those calls to.
 *
 * <p>Safe by construction: a cluster's name fixes the builds it holds (see {@link SnapshotBuilder}), so a
 * retained cluster still only leads to builds serving the methods routed to it. A retired cluster is
 * dropped at the first publication after every client ACKed one of the route versions published since it
 * was retired, or after {@code maxHold} whatever the clients did (a client that never ACKs must not grow
 * the snapshot forever).
 *
 * <p>Not thread-safe: owned by the publisher, under its lock. Time is passed in.
 */
final class ClusterRetention {
  private record Retired(Cluster cluster, ClusterLoadAssignment assignment, Instant droppedAt,
                         Set<String> routeVersionsWithout) {}

  private final Duration maxHold;
  /** What the last call returned, by cluster name. */
  private Map<String, Cluster> lastClusters = Map.of();
  private Map<String, ClusterLoadAssignment> lastAssignments = Map.of();
  private final Map<String, Retired> retired = new HashMap<>();

  ClusterRetention(Duration maxHold) {
    this.maxHold = maxHold;
  }

  /**
   * What to publish at {@code now}: {@code next}, plus the clusters dropped from it that some client may
   * still route to.
   *
   * @param routesSettled whether every client has ACKed one of the given route versions
   */
  XdsResources apply(XdsResources next, Instant now, Predicate<Set<String>> routesSettled) {
    Map<String, Cluster> clusters = new TreeMap<>();
    next.clusters().forEach(c -> clusters.put(c.getName(), c));
    Map<String, ClusterLoadAssignment> assignments = new TreeMap<>();
    next.endpoints().forEach(a -> assignments.put(a.getClusterName(), a));

    lastClusters.forEach((name, cluster) -> {
      if (!clusters.containsKey(name) && !retired.containsKey(name)) {
        retired.put(name, new Retired(cluster, lastAssignments.get(name), now, new HashSet<>()));
      }
    });
    retired.values().removeIf(r -> clusters.containsKey(r.cluster().getName())
        || (!r.routeVersionsWithout().isEmpty() && routesSettled.test(r.routeVersionsWithout()))
        || !r.droppedAt().plus(maxHold).isAfter(now));
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
    return new XdsResources(List.copyOf(clusters.values()), List.copyOf(assignments.values()),
        next.listeners(), next.routes());
  }

  /**
   * Counts these clusters as published (unless already): the next {@link #apply} retains them like any
   * cluster it drops. For a restarted process, whose clients hold what the previous one published.
   */
  void assumePublished(XdsResources held) {
    Map<String, Cluster> clusters = new TreeMap<>(lastClusters);
    Map<String, ClusterLoadAssignment> assignments = new TreeMap<>(lastAssignments);
    held.clusters().forEach(c -> clusters.putIfAbsent(c.getName(), c));
    held.endpoints().forEach(a -> assignments.putIfAbsent(a.getClusterName(), a));
    lastClusters = clusters;
    lastAssignments = assignments;
  }

  /** Records that routes of {@code version} were published: none of the retired clusters is in them. */
  void routesPublished(String version) {
    retired.values().forEach(r -> r.routeVersionsWithout().add(version));
  }
}
