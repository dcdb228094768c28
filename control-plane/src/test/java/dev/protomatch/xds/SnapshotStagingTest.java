package dev.protomatch.xds;

import static org.assertj.core.api.Assertions.assertThat;

import dev.protomatch.decision.MethodRoute;
import dev.protomatch.decision.RoutableEndpoint;
import dev.protomatch.decision.RoutingDecision;
import dev.protomatch.decision.ServiceDecision;
import dev.protomatch.descriptor.DescriptorHash;
import dev.protomatch.policy.Expectation;
import dev.protomatch.policy.ServicePolicy;
import dev.protomatch.registry.EndpointAddress;
import dev.protomatch.registry.Locality;
import dev.protomatch.testing.Decisions;
import dev.protomatch.testing.TestClock;
import io.envoyproxy.controlplane.cache.v3.SimpleCache;
import io.envoyproxy.controlplane.cache.v3.Snapshot;
import io.envoyproxy.envoy.config.route.v3.RouteConfiguration;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.concurrent.atomic.AtomicBoolean;
import org.junit.jupiter.api.Test;

/** Make-before-break: routes to a cluster clients do not have yet follow that cluster, never precede it. */
class SnapshotStagingTest {
  private static final ServicePolicy POLICY = new ServicePolicy("demo.Greeter", "demo-greeter",
      new Expectation.Newest(), ServicePolicy.WhenNoneQualify.FAIL_CLOSED,
      ServicePolicy.WithoutReflection.TRUST_ADVERTISED, List.of());

  private final SimpleCache<String> cache = new SimpleCache<>(node -> NodeKind.of(node).group());
  private final TestClock clock = TestClock.atEpochPlusOneDay();
  private final AtomicBoolean clientsAcked = new AtomicBoolean();
  /** The cluster names the publisher asked clients to hold, in order. */
  private final List<Set<String>> awaited = new java.util.ArrayList<>();
  private final SnapshotPublisher publisher = new SnapshotPublisher(cache, new SnapshotBuilder("127.0.0.1", 15001),
      SnapshotPreflight.ACCEPT_ALL, clock, new ClientAcks() {
        @Override
        public boolean allAcked(NodeKind kind, XdsType type, Set<String> versions) {
          return clientsAcked.get();
        }

        @Override
        public boolean allHoldClusters(NodeKind kind, Set<String> clusters, String clustersVersion,
                                       String endpointsVersion) {
          awaited.add(clusters);
          return clientsAcked.get();
        }
      }, Duration.ofMinutes(10), Duration.ofSeconds(2));

  @Test
  void aNewClusterGoesOutUnderTheRoutesInForceAndItsRoutesFollowOnceClientsAckedIt() {
    publisher.publish(decision(1));
    String oldRoutes = routeClusters();

    publisher.publish(decision(2));

    assertThat(clusters()).contains(cluster(2));
    assertThat(routeClusters()).isEqualTo(oldRoutes).doesNotContain(cluster(2));

    publisher.publishStaged();
    assertThat(routeClusters()).as("no client ACKed the new cluster yet").isEqualTo(oldRoutes);

    clientsAcked.set(true);
    publisher.publishStaged();
    assertThat(routeClusters()).contains(cluster(2));
  }

  @Test
  void routesWaitForTheClustersTheyNewlyLeadToByName() {
    publisher.publish(decision(1));

    publisher.publish(decision(2));

    assertThat(awaited).containsOnly(Set.of(cluster(2)));
  }

  @Test
  void routesThatLeadToHeldClustersOnlyFollowAtOnceWhenClientsAlreadyHoldThem() {
    publisher.publish(decision(1));
    clientsAcked.set(true);

    publisher.publish(decision(2));

    assertThat(routeClusters()).contains(cluster(2));
  }

  @Test
  void aChangeWhileRoutesWaitDoesNotRestartTheWait() {
    publisher.publish(decision(1));
    publisher.publish(decision(2));
    clock.advance(Duration.ofMillis(1500));

    publisher.publish(decision(2, 50051, 50052));
    assertThat(routeClusters()).doesNotContain(cluster(2));
    clock.advance(Duration.ofMillis(500));
    publisher.publishStaged();

    assertThat(routeClusters()).contains(cluster(2));
    assertThat(proxyless().endpoints().resources().get(cluster(2)).getEndpoints(0).getLbEndpointsCount()).isEqualTo(2);
  }

  @Test
  void stagedRoutesFollowAfterTheLongestWaitEvenWithoutAcks() {
    publisher.publish(decision(1));
    publisher.publish(decision(2));

    clock.advance(Duration.ofSeconds(2));
    publisher.publishStaged();

    assertThat(routeClusters()).contains(cluster(2));
  }

  @Test
  void anEndpointChangeWithinKnownClustersIsPublishedAtOnce() {
    publisher.publish(decision(1, 50051));

    publisher.publish(decision(1, 50051, 50052));

    assertThat(proxyless().endpoints().resources().get(cluster(1)).getEndpoints(0).getLbEndpointsCount()).isEqualTo(2);
  }

  private Snapshot proxyless() {
    return cache.getSnapshot(NodeKind.PROXYLESS.group());
  }

  private Set<String> clusters() {
    return proxyless().clusters().resources().keySet();
  }

  private String routeClusters() {
    RouteConfiguration routes = proxyless().routes().resources().get("demo-greeter");
    return routes.getVirtualHosts(0).getRoutesList().stream().map(r -> r.getRoute().getCluster()).toList().toString();
  }

  private static String cluster(int build) {
    return SnapshotBuilder.buildSetCluster("demo-greeter", new TreeSet<>(List.of(Decisions.build(build))));
  }

  /** demo.Greeter served by one build, {@code build}, on these ports (50051 by default). */
  private static RoutingDecision decision(int build, int... ports) {
    DescriptorHash api = Decisions.build(build);
    List<RoutableEndpoint> endpoints = (ports.length == 0 ? List.of(50051) : java.util.Arrays.stream(ports).boxed().toList())
        .stream().map(port -> new RoutableEndpoint(new EndpointAddress("127.0.0.1", port), Locality.UNKNOWN, 1,
            Optional.of(api))).toList();
    ServiceDecision service = new ServiceDecision(POLICY, Optional.empty(), new TreeMap<>(Map.of(api, endpoints)),
        new TreeMap<>(Map.of("SayHello", new MethodRoute("SayHello", Optional.empty(), new TreeSet<>(List.of(api))))),
        List.of(), List.of(), ServiceDecision.Outcome.QUALIFIED);
    return new RoutingDecision(Instant.EPOCH, 1, new TreeMap<>(Map.of("demo.Greeter", service)));
  }
}
