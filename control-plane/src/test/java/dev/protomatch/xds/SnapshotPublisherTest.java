package dev.protomatch.xds;

import static org.assertj.core.api.Assertions.assertThat;

import dev.protomatch.decision.RoutableEndpoint;
import dev.protomatch.decision.RoutingDecision;
import dev.protomatch.decision.ServiceDecision;
import dev.protomatch.policy.Expectation;
import dev.protomatch.policy.ServicePolicy;
import dev.protomatch.testing.Decisions;
import dev.protomatch.registry.EndpointAddress;
import dev.protomatch.registry.Locality;
import io.envoyproxy.controlplane.cache.Resources;
import io.envoyproxy.controlplane.cache.v3.SimpleCache;
import io.envoyproxy.controlplane.cache.v3.Snapshot;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.TreeMap;
import java.util.TreeSet;
import org.junit.jupiter.api.Test;

/** Push discipline: per-type versions that only increase, and only when that type changed. */
class SnapshotPublisherTest {
  private final SimpleCache<String> cache = new SimpleCache<>(node -> NodeKind.of(node).group());
  private final SnapshotPublisher publisher = new SnapshotPublisher(cache, new SnapshotBuilder("127.0.0.1", 15001));
  private final List<SnapshotPublisher.Publication> publications = new ArrayList<>();

  SnapshotPublisherTest() {
    publisher.addListener(publications::add);
  }

  @Test
  void firstPublicationGivesEveryTypeVersionOne() {
    publisher.publish(decision(50051));

    Snapshot snapshot = cache.getSnapshot(NodeKind.PROXYLESS.group());
    assertThat(List.of(Resources.ResourceType.CLUSTER, Resources.ResourceType.ENDPOINT, Resources.ResourceType.LISTENER,
        Resources.ResourceType.ROUTE)).allSatisfy(type -> assertThat(snapshot.version(type)).isEqualTo("1"));
  }

  @Test
  void unchangedDecisionPushesNothing() {
    publisher.publish(decision(50051));
    Snapshot first = cache.getSnapshot(NodeKind.PROXYLESS.group());

    publisher.publish(decision(50051));

    assertThat(cache.getSnapshot(NodeKind.PROXYLESS.group())).isSameAs(first);
    assertThat(publications).hasSize(2); // one per node kind, from the first publish only
  }

  @Test
  void endpointChangeBumpsOnlyTheEndpointVersion() {
    publisher.publish(decision(50051));

    publisher.publish(decision(50052));

    Snapshot snapshot = cache.getSnapshot(NodeKind.PROXYLESS.group());
    assertThat(snapshot.version(Resources.ResourceType.ENDPOINT)).isEqualTo("2");
    assertThat(snapshot.version(Resources.ResourceType.CLUSTER)).isEqualTo("1");
    assertThat(snapshot.version(Resources.ResourceType.LISTENER)).isEqualTo("1");
    assertThat(publications.get(publications.size() - 1).changedTypes()).containsExactly("EDS v2");
    assertThat(publications.get(publications.size() - 1).changed()).containsExactly(Map.entry(XdsType.EDS, 2L));
  }

  private static RoutingDecision decision(int port) {
    RoutableEndpoint endpoint = new RoutableEndpoint(new EndpointAddress("127.0.0.1", port), Locality.UNKNOWN, 1,
        Optional.empty());
    ServicePolicy policy = new ServicePolicy("demo.Greeter", "demo-greeter",
        new Expectation.RequiredMethods(new TreeSet<>(List.of("SayHello"))),
        ServicePolicy.WhenNoneQualify.FAIL_CLOSED, ServicePolicy.WithoutReflection.TRUST_ADVERTISED, List.of());
    ServiceDecision service = Decisions.oneBuild(policy, List.of(endpoint), List.of(), "SayHello");
    return new RoutingDecision(Instant.EPOCH, port, new TreeMap<>(Map.of("demo.Greeter", service)));
  }
}
