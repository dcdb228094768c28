package dev.protomatch.envoyconfig;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.core.type.TypeReference;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.protomatch.xds.NodeKind;
import io.envoyproxy.envoy.config.core.v3.Locality;
import io.envoyproxy.envoy.config.core.v3.Node;
import io.envoyproxy.envoy.service.discovery.v3.AggregatedDiscoveryServiceGrpc;
import io.envoyproxy.envoy.service.discovery.v3.DiscoveryRequest;
import io.envoyproxy.envoy.service.discovery.v3.DiscoveryResponse;
import io.grpc.Grpc;
import io.grpc.InsecureChannelCredentials;
import io.grpc.InsecureServerCredentials;
import io.grpc.ManagedChannel;
import io.grpc.Server;
import io.grpc.netty.shaded.io.grpc.netty.NettyServerBuilder;
import io.grpc.stub.StreamObserver;
import io.grpc.xds.XdsNameResolverProvider;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * {@code proxyless-bootstrap.json} is a gRPC xDS bootstrap (gRFC A27) for a proxyless client of protomatch,
 * and grpc-java's own xDS client accepts it: given the file (with the server address swapped for a fake
 * ADS server's), a channel to {@code xds:///demo-greeter} connects and asks for that listener.
 */
class ProxylessBootstrapTest {
  static final Path BOOTSTRAP = Path.of("proxyless-bootstrap.json");
  /** The example policy's cluster for demo.Greeter: what a client dials as {@code xds:///demo-greeter}. */
  static final String TARGET = "demo-greeter";
  static final String LISTENER_TYPE = "type.googleapis.com/envoy.config.listener.v3.Listener";

  private static final ObjectMapper JSON = new ObjectMapper();

  private Server fakeAds;
  private ManagedChannel channel;

  @AfterEach
  void stop() throws InterruptedException {
    if (channel != null) {
      channel.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
    }
    if (fakeAds != null) {
      fakeAds.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
    }
  }

  @Test
  void talksToProtomatchsDefaultXdsAddressInPlaintextOverV3() throws IOException {
    JsonNode servers = JSON.readTree(BOOTSTRAP.toFile()).get("xds_servers");

    assertThat(servers).hasSize(1);
    JsonNode server = servers.get(0);
    assertThat(server.get("server_uri").asText()).isEqualTo(
        EnvoyBootstrapTest.PROTOMATCH_DEFAULTS.bindHost() + ":" + EnvoyBootstrapTest.PROTOMATCH_DEFAULTS.xdsPort());
    assertThat(server.get("channel_creds")).isEqualTo(JSON.readTree("[{\"type\": \"insecure\"}]"));
    assertThat(server.get("server_features")).isEqualTo(JSON.readTree("[\"xds_v3\"]"));
  }

  @Test
  void nodeHasAnIdAClusterAndALocality() throws IOException {
    JsonNode node = JSON.readTree(BOOTSTRAP.toFile()).get("node");

    assertThat(node.path("id").asText()).isNotBlank();
    assertThat(node.path("cluster").asText()).isNotBlank();
    assertThat(node.path("locality").path("region").asText()).isNotBlank();
    assertThat(node.path("locality").path("zone").asText()).isNotBlank();
  }

  @Test
  @SuppressWarnings("deprecation") // nameResolverFactory: how a channel gets a resolver with its own bootstrap
  void grpcJavaXdsClientSendsTheBootstrapNodeAndAsksForTheTargetsListener() throws Exception {
    CompletableFuture<DiscoveryRequest> firstRequest = new CompletableFuture<>();
    fakeAds = NettyServerBuilder.forAddress(new InetSocketAddress("127.0.0.1", 0), InsecureServerCredentials.create())
        .addService(new RecordingAds(firstRequest))
        .build()
        .start();
    Map<String, Object> bootstrap = JSON.readValue(BOOTSTRAP.toFile(), new TypeReference<>() {});
    xdsServers(bootstrap).get(0).put("server_uri", "127.0.0.1:" + fakeAds.getPort());
    String scheme = "proxyless-bootstrap-test";
    channel = Grpc.newChannelBuilder(scheme + ":///" + TARGET, InsecureChannelCredentials.create())
        .nameResolverFactory(XdsNameResolverProvider.createForTest(scheme, bootstrap))
        .build();

    channel.getState(true); // leave idle: start name resolution, which opens the ADS stream

    DiscoveryRequest request = firstRequest.get(10, TimeUnit.SECONDS);
    JsonNode expectedNode = JSON.readTree(BOOTSTRAP.toFile()).get("node");
    Node node = request.getNode();
    assertThat(node.getId()).isEqualTo(expectedNode.get("id").asText());
    assertThat(node.getCluster()).isEqualTo(expectedNode.get("cluster").asText());
    assertThat(node.getLocality()).isEqualTo(Locality.newBuilder()
        .setRegion(expectedNode.get("locality").get("region").asText())
        .setZone(expectedNode.get("locality").get("zone").asText())
        .build());
    assertThat(NodeKind.of(node)).as("protomatch's view of this client").isEqualTo(NodeKind.PROXYLESS);
    assertThat(request.getTypeUrl()).isEqualTo(LISTENER_TYPE);
    assertThat(request.getResourceNamesList()).containsExactly(TARGET);
  }

  @SuppressWarnings("unchecked")
  private static List<Map<String, Object>> xdsServers(Map<String, Object> bootstrap) {
    return (List<Map<String, Object>>) bootstrap.get("xds_servers");
  }

  /** An ADS server that records the first request of the first stream and never answers. */
  private static final class RecordingAds extends AggregatedDiscoveryServiceGrpc.AggregatedDiscoveryServiceImplBase {
    private final CompletableFuture<DiscoveryRequest> firstRequest;

    RecordingAds(CompletableFuture<DiscoveryRequest> firstRequest) {
      this.firstRequest = firstRequest;
    }

    @Override
    public StreamObserver<DiscoveryRequest> streamAggregatedResources(StreamObserver<DiscoveryResponse> responses) {
      return new StreamObserver<>() {
        @Override
        public void onNext(DiscoveryRequest request) {
          firstRequest.complete(request);
        }

        @Override
        public void onError(Throwable error) {}

        @Override
        public void onCompleted() {
          responses.onCompleted();
        }
      };
    }
  }
}
