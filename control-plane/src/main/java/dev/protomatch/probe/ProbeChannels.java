package dev.protomatch.probe;

import com.github.benmanes.caffeine.cache.Caffeine;
import com.github.benmanes.caffeine.cache.LoadingCache;
import dev.protomatch.registry.EndpointAddress;
import io.grpc.ManagedChannel;
import io.grpc.netty.shaded.io.grpc.netty.NettyChannelBuilder;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.time.Duration;
import java.util.Optional;
import dev.protomatch.policy.DataPlanePolicy;
import io.grpc.ChannelCredentials;
import io.grpc.TlsChannelCredentials;

/**
 * Channels to endpoints for probing, kept while in use so periodic probes reuse a connection, and shut
 * down once an endpoint has not been probed for a while (it left the registry).
 *
 * <p>An endpoint of a service whose policy sets {@code upstream-tls} serves TLS: it is probed over TLS, trusting
 * that {@code ca-file} and naming {@code sni} (else its address) as the server; the others in plaintext.
 *
 * <p>Each connection's HTTP/2 flow-control window is fixed at {@link #WINDOW_BYTES}: a probe reads one answer per
 * request ({@link ReflectionStream}), so what a server pushes unasked waits in that window, and a fixed window
 * bounds it per endpoint (grpc's automatic window tuning could grow it with the server's sending rate).
 */
public final class ProbeChannels implements AutoCloseable {
  /** grpc's default initial window; enough for reflection answers, which are small and asked one at a time. */
  static final int WINDOW_BYTES = 1024 * 1024;

  /** An endpoint as probed: its address, and the TLS to reach it with (empty: plaintext). */
  private record Target(EndpointAddress address, Optional<DataPlanePolicy.UpstreamTls> tls) {}

  private final LoadingCache<Target, ManagedChannel> channels;

  public ProbeChannels(Duration idle) {
    this.channels = Caffeine.newBuilder()
        .expireAfterAccess(idle)
        .<Target, ManagedChannel>removalListener((target, channel, cause) -> {
          if (channel != null) {
            channel.shutdownNow();
          }
        })
        .build(ProbeChannels::open);
  }

  /** A plaintext channel to {@code address}. */
  public ManagedChannel channel(EndpointAddress address) {
    return channel(address, Optional.empty());
  }

  /**
   * A channel to {@code address}, over TLS when {@code tls} is present.
   *
   * @throws UncheckedIOException if the CA file cannot be read
   */
  public ManagedChannel channel(EndpointAddress address, Optional<DataPlanePolicy.UpstreamTls> tls) {
    return channels.get(new Target(address, tls));
  }

  private static ManagedChannel open(Target target) {
    NettyChannelBuilder builder;
    if (target.tls().isEmpty()) {
      builder = NettyChannelBuilder.forAddress(target.address().host(), target.address().port()).usePlaintext();
    } else {
      DataPlanePolicy.UpstreamTls tls = target.tls().get();
      ChannelCredentials credentials;
      try {
        credentials = TlsChannelCredentials.newBuilder().trustManager(tls.caFile().toFile()).build();
      } catch (IOException e) {
        throw new UncheckedIOException("cannot read upstream-tls ca-file '" + tls.caFile() + "': " + e.getMessage(), e);
      }
      builder = NettyChannelBuilder.forAddress(target.address().host(), target.address().port(), credentials);
      tls.sni().ifPresent(builder::overrideAuthority);
    }
    return builder.flowControlWindow(WINDOW_BYTES).maxInboundMessageSize(ReflectionStream.MAX_ANSWER_BYTES).build();
  }

  @Override
  public void close() {
    channels.invalidateAll();
    channels.cleanUp();
  }
}
