package dev.protomatch.xds;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import dev.protomatch.testing.RawAdsStream;
import io.envoyproxy.controlplane.cache.v3.SimpleCache;
import io.envoyproxy.controlplane.server.DefaultExecutorGroup;
import io.envoyproxy.controlplane.server.V3DiscoveryServer;
import io.envoyproxy.controlplane.server.serializer.CachedProtoResourcesSerializer;
import io.envoyproxy.envoy.service.discovery.v3.DiscoveryRequest;
import io.grpc.InsecureServerCredentials;
import io.grpc.Server;
import io.grpc.ServerInterceptors;
import io.grpc.Status;
import io.grpc.netty.shaded.io.grpc.netty.NettyServerBuilder;
import java.net.InetSocketAddress;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/** Streams past the limit are refused with RESOURCE_EXHAUSTED; a closed stream frees its place. */
class StreamLimitTest {
  private final SimpleCache<String> cache = new SimpleCache<>(node -> NodeKind.of(node).group());
  private final StreamLimit limit = new StreamLimit(2);
  private Server server;

  @AfterEach
  void stop() throws InterruptedException {
    server.shutdownNow().awaitTermination();
  }

  @Test
  void aStreamPastTheLimitIsRefusedAndAClosedOneFreesItsPlace() throws Exception {
    V3DiscoveryServer discovery = new V3DiscoveryServer(List.of(), cache, new DefaultExecutorGroup(),
        new CachedProtoResourcesSerializer());
    server = NettyServerBuilder.forAddress(new InetSocketAddress("127.0.0.1", 0), InsecureServerCredentials.create())
        .addService(ServerInterceptors.intercept(discovery.getAggregatedDiscoveryServiceImpl(), limit))
        .build().start();
    var first = RawAdsStream.sotw(server.getPort());
    var second = RawAdsStream.sotw(server.getPort());
    first.send(request());
    second.send(request());
    await().atMost(Duration.ofSeconds(10)).until(() -> limit.open() == 2);

    try (var third = RawAdsStream.sotw(server.getPort())) {
      third.send(request());
      assertThatThrownBy(third::next).hasRootCauseInstanceOf(io.grpc.StatusRuntimeException.class)
          .satisfies(e -> assertThat(Status.fromThrowable(e.getCause()).getCode()).isEqualTo(Status.Code.RESOURCE_EXHAUSTED));
    }
    first.close();
    await().atMost(Duration.ofSeconds(10)).until(() -> limit.open() == 1);
    try (var fourth = RawAdsStream.sotw(server.getPort())) {
      fourth.send(request());
      await().atMost(Duration.ofSeconds(10)).until(() -> limit.open() == 2);
    }
    second.close();
  }

  private static DiscoveryRequest request() {
    return DiscoveryRequest.newBuilder().setNode(RawAdsStream.node("limit-test", "raw-test-client"))
        .setTypeUrl(RawAdsStream.LISTENERS).build();
  }

}
