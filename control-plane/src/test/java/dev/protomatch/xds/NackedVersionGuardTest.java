package dev.protomatch.xds;

import static org.assertj.core.api.Assertions.assertThat;

import dev.protomatch.testing.RawAdsStream;
import io.envoyproxy.controlplane.cache.v3.SimpleCache;
import io.envoyproxy.controlplane.server.DefaultExecutorGroup;
import io.envoyproxy.controlplane.server.V3DiscoveryServer;
import io.envoyproxy.controlplane.server.serializer.CachedProtoResourcesSerializer;
import io.envoyproxy.envoy.config.core.v3.Node;
import io.envoyproxy.envoy.config.endpoint.v3.ClusterLoadAssignment;
import io.envoyproxy.envoy.service.discovery.v3.DeltaDiscoveryRequest;
import io.envoyproxy.envoy.service.discovery.v3.DeltaDiscoveryResponse;
import io.envoyproxy.envoy.service.discovery.v3.DiscoveryRequest;
import io.envoyproxy.envoy.service.discovery.v3.DiscoveryResponse;
import io.grpc.InsecureServerCredentials;
import io.grpc.Server;
import io.grpc.netty.shaded.io.grpc.netty.NettyServerBuilder;
import java.net.InetSocketAddress;
import java.time.Clock;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * A stream that NACKs a version is not sent that version again; it gets the next different one. Scripted
 * with raw ADS streams against protomatch's {@link XdsServer}; the same scripts against java-control-plane
 * without the guard show the immediate re-send the guard prevents (so the scripts can tell the difference).
 */
class NackedVersionGuardTest {
  private static final Node NODE = RawAdsStream.node("guard-test", "raw-test-client");
  /** The cluster TestDecisions' one build is published in. */
  private static final String CLUSTER = SnapshotBuilder.buildSetCluster("demo-greeter",
      new java.util.TreeSet<>(List.of(dev.protomatch.testing.Decisions.build(1))));

  private final SimpleCache<String> cache = new SimpleCache<>(node -> NodeKind.of(node).group());
  private final SnapshotPublisher publisher = new SnapshotPublisher(cache, new SnapshotBuilder("127.0.0.1", 15001));
  private XdsServer guarded;
  private Server unguarded;

  @AfterEach
  void stop() throws InterruptedException {
    if (guarded != null) {
      guarded.close();
    }
    if (unguarded != null) {
      unguarded.shutdownNow().awaitTermination();
    }
  }

  @Test
  void aStateOfTheWorldStreamIsNotSentTheVersionItRejectedButTheNextOne() throws Exception {
    publisher.publish(TestDecisions.greeter(50051));
    try (var stream = RawAdsStream.sotw(guardedPort())) {
      DiscoveryResponse rejected = receiveEndpointsAndReject(stream);

      stream.send(sotw(RawAdsStream.LISTENERS, "", "", List.of())); // sentinel
      assertThat(stream.next().getTypeUrl()).as("the first response after the NACK").isEqualTo(RawAdsStream.LISTENERS);

      publisher.publish(TestDecisions.greeter(50052));
      DiscoveryResponse next = stream.next();
      assertThat(next.getTypeUrl()).isEqualTo(RawAdsStream.ENDPOINTS);
      assertThat(next.getVersionInfo()).isNotEqualTo(rejected.getVersionInfo());
      assertThat(ports(next.getResources(0).unpack(ClusterLoadAssignment.class))).containsExactly(50052);
      assertThat(stream.waiting()).isZero();
    }
  }

  @Test
  void aSubscriptionNamingAClusterTheSnapshotLacksIsStillAnsweredWithTheOnesItHas() throws Exception {
    publisher.publish(TestDecisions.greeter(50051));
    try (var stream = RawAdsStream.sotw(guardedPort())) {
      // A client that still holds a cluster from before a restart or a retirement asks for it beside a live one.
      stream.send(sotw(RawAdsStream.ENDPOINTS, "", "", List.of("demo-greeter~000000000000", firstCluster())));

      DiscoveryResponse answer = stream.next();
      assertThat(answer.getTypeUrl()).isEqualTo(RawAdsStream.ENDPOINTS);
      assertThat(answer.getResourcesList()).hasSize(1);
      assertThat(answer.getResources(0).unpack(ClusterLoadAssignment.class).getClusterName()).isEqualTo(firstCluster());
    }
  }

  @Test
  void withoutTheGuardJavaControlPlaneAnswersNoAdsRequestNamingAMissingCluster() throws Exception {
    publisher.publish(TestDecisions.greeter(50051));
    try (var stream = RawAdsStream.sotw(unguardedPort())) {
      stream.send(sotw(RawAdsStream.ENDPOINTS, "", "", List.of("demo-greeter~000000000000", firstCluster())));
      stream.send(sotw(RawAdsStream.LISTENERS, "", "", List.of())); // sentinel

      assertThat(stream.next().getTypeUrl()).as("the first response").isEqualTo(RawAdsStream.LISTENERS);
    }
  }

  /** The name of a cluster the published snapshot has, with endpoints. */
  private static String firstCluster() {
    return CLUSTER;
  }

  @Test
  void withoutTheGuardJavaControlPlaneSendsTheRejectedVersionAgainAtOnce() throws Exception {
    publisher.publish(TestDecisions.greeter(50051));
    try (var stream = RawAdsStream.sotw(unguardedPort())) {
      DiscoveryResponse rejected = receiveEndpointsAndReject(stream);

      stream.send(sotw(RawAdsStream.LISTENERS, "", "", List.of()));
      DiscoveryResponse first = stream.next();
      assertThat(first.getTypeUrl()).isEqualTo(RawAdsStream.ENDPOINTS);
      assertThat(first.getVersionInfo()).isEqualTo(rejected.getVersionInfo());
    }
  }

  @Test
  void aRejectedVersionThatIsNoLongerTheNewestIsAnsweredWithTheNewestAtOnce() throws Exception {
    publisher.publish(TestDecisions.greeter(50051));
    try (var stream = RawAdsStream.sotw(guardedPort())) {
      DiscoveryResponse clusters = request(stream, RawAdsStream.CLUSTERS, List.of());
      stream.send(sotw(RawAdsStream.CLUSTERS, clusters.getVersionInfo(), clusters.getNonce(), List.of()));
      DiscoveryResponse endpoints = request(stream, RawAdsStream.ENDPOINTS, List.of(CLUSTER));
      publisher.publish(TestDecisions.greeter(50052)); // while the client still holds the response unanswered

      stream.send(sotw(RawAdsStream.ENDPOINTS, "", endpoints.getNonce(), List.of(CLUSTER)).toBuilder()
          .setErrorDetail(RawAdsStream.rejection("bad endpoint")).build());

      DiscoveryResponse next = stream.next();
      assertThat(next.getTypeUrl()).isEqualTo(RawAdsStream.ENDPOINTS);
      assertThat(ports(next.getResources(0).unpack(ClusterLoadAssignment.class))).containsExactly(50052);
    }
  }

  @Test
  void aDeltaStreamIsNotSentTheResourceVersionItRejectedButTheNextOne() throws Exception {
    publisher.publish(TestDecisions.greeter(50051));
    try (var stream = RawAdsStream.delta(guardedPort())) {
      DeltaDiscoveryResponse rejected = receiveDeltaEndpointsAndReject(stream);

      stream.send(delta(RawAdsStream.LISTENERS).build()); // sentinel
      assertThat(stream.next().getTypeUrl()).as("the first response after the NACK").isEqualTo(RawAdsStream.LISTENERS);

      publisher.publish(TestDecisions.greeter(50052));
      DeltaDiscoveryResponse next = stream.next();
      assertThat(next.getTypeUrl()).isEqualTo(RawAdsStream.ENDPOINTS);
      assertThat(next.getResources(0).getVersion()).isNotEqualTo(rejected.getResources(0).getVersion());
      assertThat(ports(next.getResources(0).getResource().unpack(ClusterLoadAssignment.class))).containsExactly(50052);
    }
  }

  @Test
  void withoutTheGuardJavaControlPlaneSendsTheRejectedDeltaResourcesAgainAtOnce() throws Exception {
    publisher.publish(TestDecisions.greeter(50051));
    try (var stream = RawAdsStream.delta(unguardedPort())) {
      DeltaDiscoveryResponse rejected = receiveDeltaEndpointsAndReject(stream);

      stream.send(delta(RawAdsStream.LISTENERS).build());
      DeltaDiscoveryResponse first = stream.next();
      assertThat(first.getTypeUrl()).isEqualTo(RawAdsStream.ENDPOINTS);
      assertThat(first.getResources(0).getVersion()).isEqualTo(rejected.getResources(0).getVersion());
    }
  }

  /** CDS (wildcard) accepted, then EDS for the one cluster received and NACKed; returns the rejected response. */
  private static DiscoveryResponse receiveEndpointsAndReject(RawAdsStream<DiscoveryRequest, DiscoveryResponse> stream)
      throws InterruptedException {
    DiscoveryResponse clusters = request(stream, RawAdsStream.CLUSTERS, List.of());
    stream.send(sotw(RawAdsStream.CLUSTERS, clusters.getVersionInfo(), clusters.getNonce(), List.of()));
    DiscoveryResponse endpoints = request(stream, RawAdsStream.ENDPOINTS, List.of(CLUSTER));
    // version_info stays the last accepted one (none); the nonce names the rejected response.
    stream.send(sotw(RawAdsStream.ENDPOINTS, "", endpoints.getNonce(), List.of(CLUSTER)).toBuilder()
        .setErrorDetail(RawAdsStream.rejection("bad endpoint")).build());
    return endpoints;
  }

  private static DeltaDiscoveryResponse receiveDeltaEndpointsAndReject(
      RawAdsStream<DeltaDiscoveryRequest, DeltaDiscoveryResponse> stream) throws InterruptedException {
    stream.send(delta(RawAdsStream.CLUSTERS).build());
    DeltaDiscoveryResponse clusters = stream.next();
    assertThat(clusters.getTypeUrl()).isEqualTo(RawAdsStream.CLUSTERS);
    stream.send(delta(RawAdsStream.CLUSTERS).setResponseNonce(clusters.getNonce()).build());
    stream.send(delta(RawAdsStream.ENDPOINTS).addResourceNamesSubscribe(CLUSTER).build());
    DeltaDiscoveryResponse endpoints = stream.next();
    assertThat(endpoints.getTypeUrl()).isEqualTo(RawAdsStream.ENDPOINTS);
    assertThat(endpoints.getResourcesList()).singleElement().satisfies(r -> assertThat(r.getName()).isEqualTo(CLUSTER));
    stream.send(delta(RawAdsStream.ENDPOINTS).setResponseNonce(endpoints.getNonce())
        .setErrorDetail(RawAdsStream.rejection("bad endpoint")).build());
    return endpoints;
  }

  private static DiscoveryResponse request(RawAdsStream<DiscoveryRequest, DiscoveryResponse> stream, String type,
                                           List<String> names) throws InterruptedException {
    stream.send(sotw(type, "", "", names));
    DiscoveryResponse response = stream.next();
    assertThat(response.getTypeUrl()).isEqualTo(type);
    return response;
  }

  private static DiscoveryRequest sotw(String type, String version, String nonce, List<String> names) {
    return DiscoveryRequest.newBuilder().setNode(NODE).setTypeUrl(type).setVersionInfo(version)
        .setResponseNonce(nonce).addAllResourceNames(names).build();
  }

  private static DeltaDiscoveryRequest.Builder delta(String type) {
    return DeltaDiscoveryRequest.newBuilder().setNode(NODE).setTypeUrl(type);
  }

  private static List<Integer> ports(ClusterLoadAssignment assignment) {
    return assignment.getEndpointsList().stream().flatMap(l -> l.getLbEndpointsList().stream())
        .map(e -> e.getEndpoint().getAddress().getSocketAddress().getPortValue()).toList();
  }

  private int guardedPort() throws Exception {
    guarded = XdsServer.start(new InetSocketAddress("127.0.0.1", 0), InsecureServerCredentials.create(), cache,
        new XdsClientTracker(Clock.systemUTC()));
    return guarded.port();
  }

  /** java-control-plane as protomatch served it before the guard: the cache itself is the watcher. */
  private int unguardedPort() throws Exception {
    V3DiscoveryServer discovery = new V3DiscoveryServer(List.of(new XdsClientTracker(Clock.systemUTC())), cache,
        new DefaultExecutorGroup(), new CachedProtoResourcesSerializer());
    unguarded = NettyServerBuilder.forAddress(new InetSocketAddress("127.0.0.1", 0), InsecureServerCredentials.create())
        .addService(discovery.getAggregatedDiscoveryServiceImpl())
        .build()
        .start();
    return unguarded.getPort();
  }
}
