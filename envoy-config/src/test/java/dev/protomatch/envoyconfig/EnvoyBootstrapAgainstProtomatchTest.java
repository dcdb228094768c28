package dev.protomatch.envoyconfig;

import static org.assertj.core.api.Assertions.assertThat;

import com.google.protobuf.Any;
import com.google.protobuf.InvalidProtocolBufferException;
import dev.protomatch.server.ControlPlane;
import dev.protomatch.server.ControlPlaneOptions;
import dev.protomatch.xds.SnapshotBuilder;
import io.envoyproxy.envoy.config.bootstrap.v3.Bootstrap;
import io.envoyproxy.envoy.config.core.v3.ApiConfigSource;
import io.envoyproxy.envoy.config.core.v3.Node;
import io.envoyproxy.envoy.config.core.v3.SocketAddress;
import io.envoyproxy.envoy.config.listener.v3.Listener;
import io.envoyproxy.envoy.service.discovery.v3.AggregatedDiscoveryServiceGrpc;
import io.envoyproxy.envoy.service.discovery.v3.DeltaDiscoveryRequest;
import io.envoyproxy.envoy.service.discovery.v3.DeltaDiscoveryResponse;
import io.envoyproxy.envoy.service.discovery.v3.DiscoveryRequest;
import io.envoyproxy.envoy.service.discovery.v3.DiscoveryResponse;
import io.envoyproxy.envoy.service.discovery.v3.Resource;
import io.grpc.Grpc;
import io.grpc.InsecureChannelCredentials;
import io.grpc.ManagedChannel;
import io.grpc.stub.StreamObserver;
import java.nio.file.Path;
import java.time.Clock;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.function.Function;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * An Envoy started with one of the bootstraps gets its egress listener from a real protomatch control plane
 * (on loopback, free ports, the example policy). The test speaks ADS the way the bootstrap tells Envoy to:
 * its api_type (state of the world or delta), CDS first, then LDS, and the bootstrap's node on every
 * request unless {@code set_node_on_first_message_only} says only on the first.
 *
 * <p>That flag matters: protomatch chooses Envoy or proxyless resources from the node of each request, so
 * a node-less LDS request is answered with proxyless API listeners, which Envoy cannot use.
 */
class EnvoyBootstrapAgainstProtomatchTest {
  private static final String CLUSTER_TYPE = "type.googleapis.com/envoy.config.cluster.v3.Cluster";
  private static final String LISTENER_TYPE = "type.googleapis.com/envoy.config.listener.v3.Listener";
  private static final long TIMEOUT_SECONDS = 10;

  private ControlPlane controlPlane;
  private ManagedChannel channel;
  private final List<StreamObserver<?>> streams = new ArrayList<>();

  @AfterEach
  void stop() throws InterruptedException {
    streams.forEach(StreamObserver::onCompleted);
    if (channel != null) {
      channel.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
    }
    if (controlPlane != null) {
      controlPlane.close();
    }
  }

  static List<Path> bootstraps() throws Exception {
    return EnvoyBootstrapTest.bootstraps();
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("bootstraps")
  void envoyFollowingTheBootstrapIsServedTheEgressListener(Path file) throws Exception {
    Bootstrap bootstrap = EnvoyBootstrapTest.parse(file);
    ApiConfigSource ads = bootstrap.getDynamicResources().getAdsConfig();
    controlPlane = ControlPlane.start(
        ControlPlaneOptions.loopbackDefaults(Optional.of(ExamplePolicyTest.EXAMPLE)).withPorts(0, 0, 0),
        Clock.systemUTC(), Map.of("PROTOMATCH_REGISTRATION_TOKEN", "s3cret")::get);
    channel = Grpc.newChannelBuilder("127.0.0.1:" + controlPlane.xdsPort(), InsecureChannelCredentials.create())
        .build();
    Node firstNode = bootstrap.getNode().toBuilder().setUserAgentName("envoy").build(); // Envoy adds its name
    Node laterNode = ads.getSetNodeOnFirstMessageOnly() ? Node.getDefaultInstance() : firstNode;

    List<Listener> listeners = ads.getApiType() == ApiConfigSource.ApiType.DELTA_GRPC
        ? listenersOverDeltaAds(firstNode, laterNode)
        : listenersOverStateOfTheWorldAds(firstNode, laterNode);

    assertThat(listeners).extracting(Listener::getName).containsExactly(SnapshotBuilder.ENVOY_LISTENER);
    SocketAddress address = listeners.get(0).getAddress().getSocketAddress();
    assertThat(address.getAddress()).isEqualTo(EnvoyBootstrapTest.PROTOMATCH_DEFAULTS.envoyListenerHost());
    assertThat(address.getPortValue()).isEqualTo(EnvoyBootstrapTest.PROTOMATCH_DEFAULTS.envoyListenerPort());
  }

  private List<Listener> listenersOverStateOfTheWorldAds(Node firstNode, Node laterNode) throws Exception {
    BlockingQueue<DiscoveryResponse> responses = new LinkedBlockingQueue<>();
    StreamObserver<DiscoveryRequest> requests = AggregatedDiscoveryServiceGrpc.newStub(channel)
        .streamAggregatedResources(collectingInto(responses));
    streams.add(requests);

    requests.onNext(DiscoveryRequest.newBuilder().setNode(firstNode).setTypeUrl(CLUSTER_TYPE).build());
    next(responses, DiscoveryResponse::getTypeUrl, CLUSTER_TYPE);
    requests.onNext(DiscoveryRequest.newBuilder().setNode(laterNode).setTypeUrl(LISTENER_TYPE).build());
    DiscoveryResponse response = next(responses, DiscoveryResponse::getTypeUrl, LISTENER_TYPE);

    return unpackListeners(response.getResourcesList());
  }

  private List<Listener> listenersOverDeltaAds(Node firstNode, Node laterNode) throws Exception {
    BlockingQueue<DeltaDiscoveryResponse> responses = new LinkedBlockingQueue<>();
    StreamObserver<DeltaDiscoveryRequest> requests = AggregatedDiscoveryServiceGrpc.newStub(channel)
        .deltaAggregatedResources(collectingInto(responses));
    streams.add(requests);

    requests.onNext(DeltaDiscoveryRequest.newBuilder().setNode(firstNode).setTypeUrl(CLUSTER_TYPE).build());
    next(responses, DeltaDiscoveryResponse::getTypeUrl, CLUSTER_TYPE);
    requests.onNext(DeltaDiscoveryRequest.newBuilder().setNode(laterNode).setTypeUrl(LISTENER_TYPE).build());
    DeltaDiscoveryResponse response = next(responses, DeltaDiscoveryResponse::getTypeUrl, LISTENER_TYPE);

    return unpackListeners(response.getResourcesList().stream().map(Resource::getResource).toList());
  }

  private static List<Listener> unpackListeners(List<Any> resources) throws InvalidProtocolBufferException {
    List<Listener> listeners = new ArrayList<>();
    for (Any resource : resources) {
      listeners.add(resource.unpack(Listener.class));
    }
    return listeners;
  }

  private static <T> T next(BlockingQueue<T> responses, Function<T, String> typeUrl, String wanted)
      throws InterruptedException {
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(TIMEOUT_SECONDS);
    while (true) {
      T response = responses.poll(deadline - System.nanoTime(), TimeUnit.NANOSECONDS);
      if (response == null) {
        throw new AssertionError("no " + wanted + " response within " + TIMEOUT_SECONDS + "s");
      }
      if (typeUrl.apply(response).equals(wanted)) {
        return response;
      }
    }
  }

  private static <T> StreamObserver<T> collectingInto(BlockingQueue<T> responses) {
    return new StreamObserver<>() {
      @Override
      public void onNext(T response) {
        responses.add(response);
      }

      @Override
      public void onError(Throwable error) {}

      @Override
      public void onCompleted() {}
    };
  }
}
