package dev.protomatch.benchmarks;

import dev.protomatch.decision.RoutingDecider;
import dev.protomatch.decision.RoutingDecision;
import dev.protomatch.registry.EndpointAddress;
import dev.protomatch.registry.EndpointState;
import dev.protomatch.registry.RegistryState;
import dev.protomatch.xds.EnvoyRulesPreflight;
import dev.protomatch.xds.NodeKind;
import dev.protomatch.xds.SnapshotBuilder;
import dev.protomatch.xds.SnapshotPreflight;
import dev.protomatch.xds.SnapshotPublisher;
import io.envoyproxy.controlplane.cache.v3.SimpleCache;
import java.time.Clock;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.TreeMap;

/**
 * Where one registration change's control-plane time goes at fleet size (10,000 endpoints, 1,000 services of 10
 * methods in two builds), stage by stage: the decision, building each node kind's resources, and publishing
 * (content versions, the cache) with and without the pre-flight check against Envoy's rules. Each change
 * removes or restores one endpoint, alternately, as a deregistration and a registration do.
 *
 * <pre>java -cp benchmarks/target/benchmarks.jar dev.protomatch.benchmarks.PublishCostReport</pre>
 */
public final class PublishCostReport {
  private static final int CHANGES = 21;
  private static final Instant NOW = Instant.parse("2026-01-02T00:00:00Z");

  private PublishCostReport() {}

  public static void main(String[] args) {
    RoutingDecisionBenchmark fleet = new RoutingDecisionBenchmark();
    fleet.endpoints = 10_000;
    fleet.services = 1_000;
    fleet.setUp();
    RegistryState full = fleet.state;
    TreeMap<EndpointAddress, EndpointState> fewer = new TreeMap<>(full.endpoints());
    fewer.remove(fewer.firstKey());
    RegistryState oneLess = new RegistryState(full.version() + 1, fewer);

    System.out.printf("one endpoint removed or restored, %d changes, 10,000 endpoints x 1,000 services:%n", CHANGES);
    for (boolean reuse : new boolean[] {false, true}) {
      SnapshotBuilder builder = reuse ? new SnapshotBuilder("127.0.0.1", 15001)
          : SnapshotBuilder.withoutReuse("127.0.0.1", 15001);
      System.out.println(reuse ? "services whose decision did not change reused (the default):"
          : "every service built anew:");
      measure(fleet, full, oneLess, builder);
    }
  }

  private static void measure(RoutingDecisionBenchmark fleet, RegistryState full, RegistryState oneLess,
                              SnapshotBuilder builder) {
    SnapshotPublisher plain = new SnapshotPublisher(new SimpleCache<>(node -> NodeKind.of(node).group()), builder,
        SnapshotPreflight.ACCEPT_ALL, Clock.systemUTC());
    SnapshotPublisher checked = new SnapshotPublisher(new SimpleCache<>(node -> NodeKind.of(node).group()), builder,
        new EnvoyRulesPreflight(), Clock.systemUTC());

    List<Long> decide = new ArrayList<>();
    List<Long> buildEnvoy = new ArrayList<>();
    List<Long> buildProxyless = new ArrayList<>();
    List<Long> publishPlain = new ArrayList<>();
    List<Long> publishChecked = new ArrayList<>();
    for (int i = 0; i < CHANGES + 3; i++) {
      RegistryState state = i % 2 == 0 ? full : oneLess;
      long t0 = System.nanoTime();
      RoutingDecision decision = RoutingDecider.decide(fleet.policies, state, NOW);
      long t1 = System.nanoTime();
      builder.build(decision, NodeKind.ENVOY);
      long t2 = System.nanoTime();
      builder.build(decision, NodeKind.PROXYLESS);
      long t3 = System.nanoTime();
      plain.publish(decision);
      long t4 = System.nanoTime();
      checked.publish(decision);
      long t5 = System.nanoTime();
      if (i >= 3) { // the first rounds warm the JIT up
        decide.add(t1 - t0);
        buildEnvoy.add(t2 - t1);
        buildProxyless.add(t3 - t2);
        publishPlain.add(t4 - t3);
        publishChecked.add(t5 - t4);
      }
    }
    print("decide", decide);
    print("build envoy resources", buildEnvoy);
    print("build proxyless resources", buildProxyless);
    print("publish both kinds, no pre-flight", publishPlain);
    print("publish both kinds, Envoy-rules pre-flight", publishChecked);
  }

  private static void print(String stage, List<Long> nanos) {
    long[] sorted = nanos.stream().mapToLong(Long::longValue).sorted().toArray();
    System.out.printf("  %-45s median %7.1f ms   max %7.1f ms%n", stage, sorted[sorted.length / 2] / 1e6,
        sorted[sorted.length - 1] / 1e6);
  }
}
