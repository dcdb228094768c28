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
import io.envoyproxy.controlplane.cache.Response;
import io.envoyproxy.controlplane.cache.XdsRequest;
import io.envoyproxy.controlplane.cache.v3.SimpleCache;
import io.envoyproxy.controlplane.server.DefaultExecutorGroup;
import io.envoyproxy.controlplane.server.V3DiscoveryServer;
import io.envoyproxy.controlplane.server.serializer.CachedProtoResourcesSerializer;
import io.envoyproxy.envoy.config.core.v3.Node;
import io.envoyproxy.envoy.config.endpoint.v3.ClusterLoadAssignment;
import io.envoyproxy.envoy.service.discovery.v3.DiscoveryRequest;
import io.envoyproxy.envoy.service.discovery.v3.DiscoveryResponse;
import io.grpc.InsecureServerCredentials;
import io.grpc.Server;
import io.grpc.netty.shaded.io.grpc.netty.NettyServerBuilder;
import java.net.InetSocketAddress;
import java.time.Clock;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * A state-of-the-world EDS response carries only the assignments the stream does not hold: scripted with raw
 * ADS streams against protomatch's {@link XdsServer}, and the first script against java-control-plane alone,
 * which sends every requested assignment (so the script can tell the difference).
 */
class UnchangedAssignmentFilterTest {
  private static final Node NODE = RawAdsStream.node("filter-test", "raw-test-client");
  private static final String GREETER = SnapshotBuilder.buildSetCluster("demo-greeter",
      new TreeSet<>(List.of(Decisions.build(1))));
  private static final String OTHER = SnapshotBuilder.buildSetCluster("demo-other",
      new TreeSet<>(List.of(Decisions.build(1))));

  private final SimpleCache<String> cache = new SimpleCache<>(node -> NodeKind.of(node).group());
  private final SnapshotPublisher publisher = new SnapshotPublisher(cache, new SnapshotBuilder("127.0.0.1", 15001));
  private XdsServer filtered;
  private Server unfiltered;

  @AfterEach
  void stop() throws InterruptedException {
    if (filtered != null) {
      filtered.close();
    }
    if (unfiltered != null) {
      unfiltered.shutdownNow().awaitTermination();
    }
  }

  @Test
  void aChangeToOneServiceSendsOnlyItsAssignment() throws Exception {
    publisher.publish(fleet(50051, 50061));
    try (var stream = RawAdsStream.sotw(filteredPort())) {
      DiscoveryResponse first = holdBoth(stream);
      assertThat(names(first)).containsExactlyInAnyOrder(GREETER, OTHER);

      publisher.publish(fleet(50052, 50061));

      DiscoveryResponse next = stream.next();
      assertThat(next.getTypeUrl()).isEqualTo(RawAdsStream.ENDPOINTS);
      assertThat(next.getVersionInfo()).isNotEqualTo(first.getVersionInfo());
      assertThat(next.getResourcesList()).singleElement()
          .satisfies(any -> assertThat(ports(any.unpack(ClusterLoadAssignment.class))).containsExactly(50052));
    }
  }

  @Test
  void withoutTheFilterJavaControlPlaneSendsEveryRequestedAssignmentOnEachChange() throws Exception {
    publisher.publish(fleet(50051, 50061));
    try (var stream = RawAdsStream.sotw(unfilteredPort())) {
      holdBoth(stream);

      publisher.publish(fleet(50052, 50061));

      assertThat(names(stream.next())).containsExactlyInAnyOrder(GREETER, OTHER);
    }
  }

  @Test
  void aStreamWhoseAssignmentsDidNotChangeIsNotAnsweredUntilOneDoes() throws Exception {
    publisher.publish(fleet(50051, 50061));
    try (var stream = RawAdsStream.sotw(filteredPort())) {
      acceptClusters(stream);
      DiscoveryResponse first = request(stream, "", "", List.of(OTHER));
      stream.send(sotw(first.getVersionInfo(), first.getNonce(), List.of(OTHER)));

      publisher.publish(fleet(50052, 50061)); // only demo.Greeter changes: nothing for this stream
      publisher.publish(fleet(50052, 50062));

      DiscoveryResponse next = stream.next();
      assertThat(next.getTypeUrl()).isEqualTo(RawAdsStream.ENDPOINTS);
      assertThat(next.getResourcesList()).singleElement()
          .satisfies(any -> assertThat(ports(any.unpack(ClusterLoadAssignment.class))).containsExactly(50062));
    }
  }

  @Test
  void withoutTheFilterAStreamWhoseAssignmentsDidNotChangeIsAnsweredAnyway() throws Exception {
    publisher.publish(fleet(50051, 50061));
    try (var stream = RawAdsStream.sotw(unfilteredPort())) {
      acceptClusters(stream);
      DiscoveryResponse first = request(stream, "", "", List.of(OTHER));
      stream.send(sotw(first.getVersionInfo(), first.getNonce(), List.of(OTHER)));

      publisher.publish(fleet(50052, 50061));
      publisher.publish(fleet(50052, 50062));

      DiscoveryResponse next = stream.next();
      assertThat(next.getResourcesList()).singleElement()
          .satisfies(any -> assertThat(ports(any.unpack(ClusterLoadAssignment.class))).containsExactly(50061));
    }
  }

  @Test
  void anUnansweredStreamCountsAsHoldingTheNewVersion() {
    publisher.publish(fleet(50051, 50061));
    List<String> holds = new ArrayList<>();
    UnchangedAssignmentFilter filter = new UnchangedAssignmentFilter(cache,
        (streamId, typeUrl, version, names) -> holds.add(streamId + " " + version + " " + names));
    filter.onStreamOpen(7, "");
    List<Response> sent = new ArrayList<>();
    DiscoveryRequest initial = sotw("", "", List.of(OTHER));
    filter.onV3StreamRequest(7, initial);
    filter.createWatch(true, XdsRequest.create(initial), Set.of(), sent::add, false, false);
    DiscoveryRequest ack = sotw(sent.get(0).version(), "1", List.of(OTHER));
    filter.onV3StreamRequest(7, ack);
    filter.createWatch(true, XdsRequest.create(ack), Set.of(OTHER), sent::add, false, false);

    publisher.publish(fleet(50052, 50061));

    assertThat(sent).hasSize(1);
    String version = cache.getSnapshot(NodeKind.PROXYLESS.group()).version(RawAdsStream.ENDPOINTS, List.of(OTHER));
    assertThat(version).isNotEqualTo(sent.get(0).version());
    assertThat(holds).containsExactly("7 " + version + " [" + OTHER + "]");
  }

  @Test
  void cancellingTheWatchCancelsTheOneReArmedBehindIt() {
    publisher.publish(fleet(50051, 50061));
    UnchangedAssignmentFilter filter = new UnchangedAssignmentFilter(cache);
    filter.onStreamOpen(7, "");
    List<Response> sent = new ArrayList<>();
    DiscoveryRequest initial = sotw("", "", List.of(OTHER));
    filter.onV3StreamRequest(7, initial);
    filter.createWatch(true, XdsRequest.create(initial), Set.of(), sent::add, false, false);
    DiscoveryRequest ack = sotw(sent.get(0).version(), "1", List.of(OTHER));
    filter.onV3StreamRequest(7, ack);
    var watch = filter.createWatch(true, XdsRequest.create(ack), Set.of(OTHER), sent::add, false, false);
    publisher.publish(fleet(50052, 50061)); // re-armed behind the watch

    watch.cancel();
    publisher.publish(fleet(50052, 50062));

    assertThat(sent).hasSize(1);
  }

  @Test
  void afterANackTheNextResponseCarriesEveryRequestedAssignment() throws Exception {
    publisher.publish(fleet(50051, 50061));
    try (var stream = RawAdsStream.sotw(filteredPort())) {
      acceptClusters(stream);
      DiscoveryResponse rejected = request(stream, "", "", List.of(GREETER, OTHER));
      stream.send(sotw("", rejected.getNonce(), List.of(GREETER, OTHER)).toBuilder()
          .setErrorDetail(RawAdsStream.rejection("bad endpoint")).build());

      publisher.publish(fleet(50052, 50061));

      assertThat(names(stream.next())).containsExactlyInAnyOrder(GREETER, OTHER);
    }
  }

  @Test
  void anAssignmentAskedForAgainAfterTheClientDroppedItIsSentAgain() throws Exception {
    publisher.publish(fleet(50051, 50061));
    try (var stream = RawAdsStream.sotw(filteredPort())) {
      DiscoveryResponse both = holdBoth(stream);
      stream.send(sotw(both.getVersionInfo(), both.getNonce(), List.of(GREETER))); // drops OTHER
      stream.send(sotw(both.getVersionInfo(), both.getNonce(), List.of(GREETER, OTHER)));

      assertThat(names(stream.next())).containsExactly(OTHER);
    }
  }

  @Test
  void justAfterAClusterResponseEveryRequestedAssignmentIsSentForEnvoyToWarmItsClusters() {
    publisher.publish(fleet(50051, 50061));
    UnchangedAssignmentFilter filter = new UnchangedAssignmentFilter(cache);
    filter.onStreamOpen(1, "");
    List<Response> sent = new ArrayList<>();
    DiscoveryRequest initial = sotw("", "", List.of(GREETER, OTHER));
    filter.onV3StreamRequest(1, initial);
    filter.createWatch(true, XdsRequest.create(initial), Set.of(), sent::add, false, false);
    String version = sent.get(0).version();

    DiscoveryRequest afterClusters = sotw(version, "1", List.of(GREETER, OTHER));
    filter.onV3StreamRequest(1, afterClusters);
    filter.createWatch(true, XdsRequest.create(afterClusters), Set.of(GREETER, OTHER), sent::add, true, false);

    assertThat(sent).hasSize(2);
    assertThat(sent.get(1).version()).isEqualTo(version);
    assertThat(sent.get(1).resources()).hasSize(2);
  }

  /** CDS accepted, then EDS for both clusters received and ACKed; returns the EDS response. */
  private static DiscoveryResponse holdBoth(RawAdsStream<DiscoveryRequest, DiscoveryResponse> stream)
      throws InterruptedException {
    acceptClusters(stream);
    DiscoveryResponse endpoints = request(stream, "", "", List.of(GREETER, OTHER));
    stream.send(sotw(endpoints.getVersionInfo(), endpoints.getNonce(), List.of(GREETER, OTHER)));
    return endpoints;
  }

  private static void acceptClusters(RawAdsStream<DiscoveryRequest, DiscoveryResponse> stream)
      throws InterruptedException {
    stream.send(DiscoveryRequest.newBuilder().setNode(NODE).setTypeUrl(RawAdsStream.CLUSTERS).build());
    DiscoveryResponse clusters = stream.next();
    assertThat(clusters.getTypeUrl()).isEqualTo(RawAdsStream.CLUSTERS);
    stream.send(DiscoveryRequest.newBuilder().setNode(NODE).setTypeUrl(RawAdsStream.CLUSTERS)
        .setVersionInfo(clusters.getVersionInfo()).setResponseNonce(clusters.getNonce()).build());
  }

  private static DiscoveryResponse request(RawAdsStream<DiscoveryRequest, DiscoveryResponse> stream, String version,
                                           String nonce, List<String> names) throws InterruptedException {
    stream.send(sotw(version, nonce, names));
    DiscoveryResponse response = stream.next();
    assertThat(response.getTypeUrl()).isEqualTo(RawAdsStream.ENDPOINTS);
    return response;
  }

  private static DiscoveryRequest sotw(String version, String nonce, List<String> names) {
    return DiscoveryRequest.newBuilder().setNode(NODE).setTypeUrl(RawAdsStream.ENDPOINTS).setVersionInfo(version)
        .setResponseNonce(nonce).addAllResourceNames(names).build();
  }

  /** demo.Greeter and demo.Other, one build each, on the given loopback ports. */
  private static RoutingDecision fleet(int greeterPort, int otherPort) {
    return new RoutingDecision(Instant.EPOCH, 1, new TreeMap<>(Map.of(
        "demo.Greeter", service("demo.Greeter", "demo-greeter", greeterPort),
        "demo.Other", service("demo.Other", "demo-other", otherPort))));
  }

  private static ServiceDecision service(String name, String cluster, int port) {
    ServicePolicy policy = new ServicePolicy(name, cluster, new Expectation.RequiredMethods(new TreeSet<>(List.of("Call"))),
        ServicePolicy.WhenNoneQualify.FAIL_CLOSED, ServicePolicy.WithoutReflection.TRUST_ADVERTISED, List.of());
    RoutableEndpoint endpoint = new RoutableEndpoint(new EndpointAddress("127.0.0.1", port), Locality.UNKNOWN, 1,
        Optional.empty());
    return Decisions.oneBuild(policy, List.of(endpoint), List.of(), "Call");
  }

  private static List<String> names(DiscoveryResponse response) {
    return response.getResourcesList().stream().map(any -> {
      try {
        return any.unpack(ClusterLoadAssignment.class).getClusterName();
      } catch (com.google.protobuf.InvalidProtocolBufferException e) {
        throw new AssertionError(e);
      }
    }).toList();
  }

  private static List<Integer> ports(ClusterLoadAssignment assignment) {
    return assignment.getEndpointsList().stream().flatMap(l -> l.getLbEndpointsList().stream())
        .map(e -> e.getEndpoint().getAddress().getSocketAddress().getPortValue()).toList();
  }

  private int filteredPort() throws Exception {
    filtered = XdsServer.start(new InetSocketAddress("127.0.0.1", 0), InsecureServerCredentials.create(), cache,
        new XdsClientTracker(Clock.systemUTC()));
    return filtered.port();
  }

  /** java-control-plane alone: the cache itself is the watcher. */
  private int unfilteredPort() throws Exception {
    V3DiscoveryServer discovery = new V3DiscoveryServer(List.of(), cache, new DefaultExecutorGroup(),
        new CachedProtoResourcesSerializer());
    unfiltered = NettyServerBuilder.forAddress(new InetSocketAddress("127.0.0.1", 0), InsecureServerCredentials.create())
        .addService(discovery.getAggregatedDiscoveryServiceImpl())
        .build()
        .start();
    return unfiltered.getPort();
  }
}
