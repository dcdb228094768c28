package dev.protomatch.benchmarks;

import dev.protomatch.decision.RoutingDecision;
import dev.protomatch.xds.NodeKind;
import dev.protomatch.xds.SnapshotBuilder;
import dev.protomatch.xds.XdsResources;

/**
 * How many clusters, assignments, listeners and routes the routing decision's fleet of 10,000 endpoints
 * and 1,000 services of 10 methods (every service mid-rollout: two builds, the older lacking one method)
 * turns into, per node kind, and how long building them takes.
 *
 * <pre>java -cp benchmarks/target/benchmarks.jar dev.protomatch.benchmarks.SnapshotSizeReport</pre>
 */
public final class SnapshotSizeReport {
  private SnapshotSizeReport() {}

  public static void main(String[] args) {
    RoutingDecision decision = RoutingDecisionBenchmark.fleetDecision();
    SnapshotBuilder builder = new SnapshotBuilder("127.0.0.1", 15001);
    for (NodeKind kind : NodeKind.values()) {
      XdsResources resources = builder.build(decision, kind);
      long routes = resources.routes().stream().flatMap(r -> r.getVirtualHostsList().stream())
          .mapToLong(v -> v.getRoutesCount()).sum();
      long nonEmpty = resources.endpoints().stream().filter(a -> a.getEndpointsCount() > 0).count();
      long[] nanos = new long[15];
      for (int i = 0; i < nanos.length; i++) {
        long start = System.nanoTime();
        builder.build(decision, kind);
        nanos[i] = System.nanoTime() - start;
      }
      java.util.Arrays.sort(nanos);
      System.out.printf("%-9s services=%d clusters=%d (with endpoints %d) assignments=%d listeners=%d"
              + " route-configs=%d routes=%d build median=%.1f ms max=%.1f ms (%d runs)%n",
          kind, decision.services().size(), resources.clusters().size(), nonEmpty, resources.endpoints().size(),
          resources.listeners().size(), resources.routes().size(), routes, nanos[nanos.length / 2] / 1e6,
          nanos[nanos.length - 1] / 1e6, nanos.length);
    }
  }
}
