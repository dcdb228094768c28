package dev.protomatch.probe;

import com.github.benmanes.caffeine.cache.Caffeine;
import com.github.benmanes.caffeine.cache.LoadingCache;
import dev.protomatch.registry.EndpointAddress;
import io.grpc.ManagedChannel;
import io.grpc.netty.shaded.io.grpc.netty.NettyChannelBuilder;
import java.time.Duration;

/**
 * Channels to endpoints for probing, kept while in use so periodic probes reuse a connection, and shut
 * down once an endpoint has not been probed for a while (it left the registry).
 *
 * <p>Each connection's HTTP/2 flow-control window is fixed at {@link #WINDOW_BYTES}: a probe reads one answer per
 * request ({@link ReflectionStream}), so what a server pushes unasked waits in that window, and a fixed window
 * bounds it per endpoint (grpc's automatic window tuning could grow it with the server's sending rate).
 */
public final class ProbeChannels implements AutoCloseable {
  /** grpc's default initial window; enough for reflection answers, which are small and asked one at a time. */
  static final int WINDOW_BYTES = 1024 * 1024;

  private final LoadingCache<EndpointAddress, ManagedChannel> channels;

  public ProbeChannels(Duration idle) {
    this.channels = Caffeine.newBuilder()
        .expireAfterAccess(idle)
        .<EndpointAddress, ManagedChannel>removalListener((address, channel, cause) -> {
          if (channel != null) {
            channel.shutdownNow();
          }
        })
        .build(address -> NettyChannelBuilder.forAddress(address.host(), address.port()).usePlaintext()
            .flowControlWindow(WINDOW_BYTES)
            .maxInboundMessageSize(ReflectionStream.MAX_ANSWER_BYTES)
            .build());
  }

  public ManagedChannel channel(EndpointAddress address) {
    return channels.get(address);
  }

  @Override
  public void close() {
    channels.invalidateAll();
    channels.cleanUp();
  }
}
