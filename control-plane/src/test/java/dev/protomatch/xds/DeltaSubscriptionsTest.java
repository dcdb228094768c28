package dev.protomatch.xds;

import static org.assertj.core.api.Assertions.assertThat;

import dev.protomatch.decision.RoutableEndpoint;
import dev.protomatch.decision.RoutingDecision;
import dev.protomatch.decision.ServiceDecision;
import dev.protomatch.policy.Expectation;
import dev.protomatch.policy.ServicePolicy;
import dev.protomatch.registry.EndpointAddress;
import dev.protomatch.registry.Locality;
import dev.protomatch.testing.Decisions;
import dev.protomatch.testing.RawAdsStream;
import io.envoyproxy.controlplane.cache.v3.SimpleCache;
import io.envoyproxy.controlplane.server.DefaultExecutorGroup;
import io.envoyproxy.controlplane.server.V3DiscoveryServer;
import io.envoyproxy.controlplane.server.serializer.CachedProtoResourcesSerializer;
import io.envoyproxy.envoy.config.core.v3.Node;
import io.envoyproxy.envoy.service.discovery.v3.DeltaDiscoveryRequest;
import io.envoyproxy.envoy.service.discovery.v3.DeltaDiscoveryResponse;
import io.envoyproxy.envoy.service.discovery.v3.Resource;
import io.grpc.InsecureServerCredentials;
import io.grpc.Server;
import io.grpc.netty.shaded.io.grpc.netty.NettyServerBuilder;
import java.net.InetSocketAddress;
import java.time.Clock;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.TreeMap;
import java.util.TreeSet;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * A delta stream is sent the listeners and clusters it subscribed to: by name, or all of them for a wildcard
 * subscription. Scripted with raw delta ADS streams against protomatch's {@link XdsServer}, and the first script
 * against java-control-plane alone, which sends every listener to a stream that named one.
 */
class DeltaSubscriptionsTest {
  private static final Node NODE = RawAdsStream.node("delta-test", "raw-test-client");

  private final SimpleCache<String> cache = new SimpleCache<>(node -> NodeKind.of(node).group());
  private final SnapshotPublisher publisher = new SnapshotPublisher(cache, new SnapshotBuilder("127.0.0.1", 15001));
  private XdsServer served;
  private Server bare;

  @AfterEach
  void stop() throws InterruptedException {
    if (served != null) {
      served.close();
    }
    if (bare != null) {
      bare.shutdownNow().awaitTermination();
    }
  }

  @Test
  void aStreamNamingOneListenerIsSentThatListenerOnly() throws Exception {
    publisher.publish(twoServices());
    try (var stream = RawAdsStream.delta(servedPort())) {
      stream.send(subscribe(RawAdsStream.LISTENERS, List.of("demo-greeter")));

      assertThat(names(stream.next())).containsExactly("demo-greeter");
    }
  }

  @Test
  void javaControlPlaneAloneSendsEveryListenerToAStreamNamingOne() throws Exception {
    publisher.publish(twoServices());
    try (var stream = RawAdsStream.delta(barePort())) {
      stream.send(subscribe(RawAdsStream.LISTENERS, List.of("demo-greeter")));

      assertThat(names(stream.next())).containsExactlyInAnyOrder("demo-greeter", "demo-other");
    }
  }

  @Test
  void aFirstRequestNamingNoListenerIsAWildcardSubscription() throws Exception {
    publisher.publish(twoServices());
    try (var stream = RawAdsStream.delta(servedPort())) {
      stream.send(subscribe(RawAdsStream.LISTENERS, List.of()));

      assertThat(names(stream.next())).containsExactlyInAnyOrder("demo-greeter", "demo-other");
    }
  }

  @Test
  void subscribingToTheWildcardLaterSendsTheRest() throws Exception {
    publisher.publish(twoServices());
    try (var stream = RawAdsStream.delta(servedPort())) {
      stream.send(subscribe(RawAdsStream.CLUSTERS, List.of("demo-greeter")));
      DeltaDiscoveryResponse first = stream.next();
      assertThat(names(first)).containsExactly("demo-greeter");

      stream.send(subscribe(RawAdsStream.CLUSTERS, List.of("*")).toBuilder().setResponseNonce(first.getNonce())
          .build());

      assertThat(names(stream.next())).contains("demo-other").doesNotContain("demo-greeter");
    }
  }

  private static DeltaDiscoveryRequest subscribe(String typeUrl, List<String> names) {
    return DeltaDiscoveryRequest.newBuilder().setNode(NODE).setTypeUrl(typeUrl).addAllResourceNamesSubscribe(names)
        .build();
  }

  private static List<String> names(DeltaDiscoveryResponse response) {
    return response.getResourcesList().stream().map(Resource::getName).toList();
  }

  private int servedPort() throws Exception {
    served = XdsServer.start(new InetSocketAddress("127.0.0.1", 0), InsecureServerCredentials.create(), cache,
        new XdsClientTracker(Clock.systemUTC()));
    return served.port();
  }

  /** java-control-plane alone: the cache itself is the watcher. */
  private int barePort() throws Exception {
    V3DiscoveryServer discovery = new V3DiscoveryServer(List.of(), cache, new DefaultExecutorGroup(),
        new CachedProtoResourcesSerializer());
    bare = NettyServerBuilder.forAddress(new InetSocketAddress("127.0.0.1", 0), InsecureServerCredentials.create())
        .addService(discovery.getAggregatedDiscoveryServiceImpl())
        .build()
        .start();
    return bare.getPort();
  }

  /** demo.Greeter and demo.Other, one build each (proxyless: a listener and cluster named after each). */
  private static RoutingDecision twoServices() {
    TreeMap<String, ServiceDecision> services = new TreeMap<>();
    for (String[] service : new String[][] {{"demo.Greeter", "demo-greeter", "50051"},
        {"demo.Other", "demo-other", "50061"}}) {
      ServicePolicy policy = new ServicePolicy(service[0], service[1], new Expectation.Newest(),
          ServicePolicy.WhenNoneQualify.FAIL_CLOSED, ServicePolicy.WithoutReflection.TRUST_ADVERTISED, List.of());
      services.put(service[0], Decisions.oneBuild(policy, List.of(new RoutableEndpoint(
          new EndpointAddress("127.0.0.1", Integer.parseInt(service[2])), Locality.UNKNOWN, 1, Optional.empty())),
          List.of(), "SayHello"));
    }
    return new RoutingDecision(Instant.EPOCH, 1, services);
  }
}
