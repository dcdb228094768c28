package dev.protomatch.xds;

import io.envoyproxy.controlplane.cache.v3.SimpleCache;
import io.envoyproxy.controlplane.server.DefaultExecutorGroup;
import io.envoyproxy.controlplane.server.V3DiscoveryServer;
import io.grpc.Server;
import io.grpc.ServerCredentials;
import io.grpc.netty.shaded.io.grpc.netty.NettyServerBuilder;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * The xDS endpoint: ADS only, state-of-the-world and incremental (delta), served by java-control-plane from
 * one snapshot cache. The per-type services (CDS, EDS, LDS, RDS on their own streams) are not offered: a
 * client may send its node on a stream's first request only, and only ADS carries it through the stream
 * ({@link NodeCarryingAdsService}); every bootstrap protomatch ships uses ADS. Watches reach the cache through a
 * {@link NackedVersionGuard}, so a stream is never sent again a version it rejected, and through an
 * {@link UnchangedAssignmentFilter}, so a state-of-the-world EDS response carries only the assignments the stream
 * does not hold already, and a stream that holds them all is not answered (the tracker counts it at the new
 * version); a delta stream is served the listeners and clusters it subscribed to ({@link DeltaSubscriptions}). Each resource object is packed once for all streams ({@link IdentityCachedSerializer}).
 * At most {@link #MAX_STREAMS} streams are served at once ({@link StreamLimit}), at most
 * {@link #MAX_STREAMS_PER_CONNECTION} per connection, on at most {@link #MAX_CONNECTIONS} connections
 * ({@link ConnectionLimit}).
 */
public final class XdsServer implements AutoCloseable {
  /**
   * Streams served at once: ten times the 2,000 the scale harness measures (docs/performance.md); each holds
   * per-stream state in java-control-plane, the tracker and the filters.
   */
  public static final int MAX_STREAMS = 20_000;
  /** Streams on one connection: Envoy and gRPC clients open one ADS stream per connection; load tools a few dozen. */
  public static final int MAX_STREAMS_PER_CONNECTION = 100;
  /** Connections served at once: one per Envoy or gRPC client, so as many as {@link #MAX_STREAMS}. */
  public static final int MAX_CONNECTIONS = MAX_STREAMS;
  /** Minutes after which a connection without streams is closed (GOAWAY), on the xDS and registration ports. */
  public static final long IDLE_CONNECTION_MINUTES = 5;

  private final Server server;

  private XdsServer(Server server) {
    this.server = server;
  }

  public static XdsServer start(InetSocketAddress address, ServerCredentials credentials, SimpleCache<String> cache,
                                XdsClientTracker tracker) throws IOException {
    ConnectionLimit connections = new ConnectionLimit(MAX_CONNECTIONS);
    NackedVersionGuard guard = new NackedVersionGuard(cache);
    DeltaSubscriptions subscriptions = new DeltaSubscriptions(guard);
    UnchangedAssignmentFilter filter = new UnchangedAssignmentFilter(subscriptions, tracker::holdsUnchanged);
    V3DiscoveryServer discovery = new V3DiscoveryServer(List.of(filter, subscriptions, guard, tracker), filter,
        new DefaultExecutorGroup(), new IdentityCachedSerializer());
    Server server = NettyServerBuilder.forAddress(address, credentials)
        .permitKeepAliveTime(10, TimeUnit.SECONDS)
        // A connection that carries no stream for this long is closed: xDS clients always hold one open.
        .maxConnectionIdle(IDLE_CONNECTION_MINUTES, TimeUnit.MINUTES)
        .permitKeepAliveWithoutCalls(true)
        .maxConcurrentCallsPerConnection(MAX_STREAMS_PER_CONNECTION)
        .addTransportFilter(connections)
        .addService(io.grpc.ServerInterceptors.intercept(
            new NodeCarryingAdsService(discovery.getAggregatedDiscoveryServiceImpl()), new StreamLimit(MAX_STREAMS),
            connections))
        .build()
        .start();
    return new XdsServer(server);
  }

  public int port() {
    return server.getPort();
  }

  /**
   * Stops accepting streams and gives open ones {@code graceMillis} to finish before cutting them: clients
   * keep their last configuration and reconnect to the next control plane.
   */
  public void shutdown(long graceMillis) throws InterruptedException {
    server.shutdown();
    if (!server.awaitTermination(graceMillis, TimeUnit.MILLISECONDS)) {
      server.shutdownNow();
      server.awaitTermination(5, TimeUnit.SECONDS);
    }
  }

  @Override
  public void close() {
    try {
      shutdown(0);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }
}
