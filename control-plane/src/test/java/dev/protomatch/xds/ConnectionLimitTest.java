package dev.protomatch.xds;

import static org.assertj.core.api.Assertions.assertThat;
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

/** Calls on a connection accepted past the limit are refused with RESOURCE_EXHAUSTED; those within it are served. */
class ConnectionLimitTest {
  private final ConnectionLimit limit = new ConnectionLimit(1);
  private Server server;

  @AfterEach
  void stop() throws InterruptedException {
    server.shutdownNow().awaitTermination();
  }

  @Test
  void callsOnAConnectionPastTheLimitAreRefused() throws Exception {
    V3DiscoveryServer discovery = new V3DiscoveryServer(List.of(),
        new SimpleCache<String>(node -> NodeKind.of(node).group()), new DefaultExecutorGroup(),
        new CachedProtoResourcesSerializer());
    server = NettyServerBuilder.forAddress(new InetSocketAddress("127.0.0.1", 0), InsecureServerCredentials.create())
        .addTransportFilter(limit)
        .addService(ServerInterceptors.intercept(discovery.getAggregatedDiscoveryServiceImpl(), limit))
        .build().start();
    try (var first = RawAdsStream.sotw(server.getPort())) { // each RawAdsStream has a channel of its own
      first.send(request());
      await().atMost(Duration.ofSeconds(10)).until(() -> limit.open() == 1);
      try (var second = RawAdsStream.sotw(server.getPort())) {
        second.send(request());
        Throwable refused = org.assertj.core.api.Assertions.catchThrowable(second::next);
        assertThat(Status.fromThrowable(refused.getCause()).getCode()).isEqualTo(Status.Code.RESOURCE_EXHAUSTED);
        assertThat(first.poll(Duration.ofMillis(200))).isNull(); // the first stream is still open, unanswered
      }
    }
  }

  private static DiscoveryRequest request() {
    return DiscoveryRequest.newBuilder().setNode(RawAdsStream.node("limit-test", "raw-test-client"))
        .setTypeUrl(RawAdsStream.LISTENERS).build();
  }
}
