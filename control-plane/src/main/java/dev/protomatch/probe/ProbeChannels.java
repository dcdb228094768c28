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
 */
public final class ProbeChannels implements AutoCloseable {
  private final LoadingCache<EndpointAddress, ManagedChannel> channels;

  public ProbeChannels(Duration idle) {
    this.channels = Caffeine.newBuilder()
        .expireAfterAccess(idle)
        .<EndpointAddress, ManagedChannel>removalListener((address, channel, cause) -> {
          if (channel != null) {
            channel.shutdownNow();
          }
        })
        .build(address -> NettyChannelBuilder.forAddress(address.host(), address.port()).usePlaintext().build());
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
