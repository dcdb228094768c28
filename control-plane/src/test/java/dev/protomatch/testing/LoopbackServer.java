package dev.protomatch.testing;

import io.grpc.BindableService;
import io.grpc.ManagedChannel;
import io.grpc.Server;
import io.grpc.ServerServiceDefinition;
import io.grpc.netty.shaded.io.grpc.netty.NettyChannelBuilder;
import io.grpc.netty.shaded.io.grpc.netty.NettyServerBuilder;
import io.grpc.protobuf.services.ProtoReflectionService;
import io.grpc.protobuf.services.ProtoReflectionServiceV1;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.InetSocketAddress;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/** A real grpc-java server on 127.0.0.1 with an ephemeral port, closed by try-with-resources or @AfterAll. */
public final class LoopbackServer implements AutoCloseable {
  /** Which reflection services the server offers. */
  public enum Reflection { V1_AND_V1ALPHA, V1ALPHA_ONLY, NONE }

  private final Server server;
  private final List<ManagedChannel> channels = new ArrayList<>();

  private LoopbackServer(Server server) {
    this.server = server;
  }

  @SuppressWarnings("deprecation") // ProtoReflectionService is v1alpha on purpose: old servers only speak it.
  public static LoopbackServer start(Reflection reflection, BindableService... services) {
    NettyServerBuilder builder = NettyServerBuilder.forAddress(new InetSocketAddress("127.0.0.1", 0));
    for (BindableService service : services) {
      builder.addService(service);
    }
    if (reflection == Reflection.V1_AND_V1ALPHA) {
      builder.addService(ProtoReflectionServiceV1.newInstance());
    }
    if (reflection != Reflection.NONE) {
      builder.addService(ProtoReflectionService.newInstance());
    }
    return startBuilt(builder);
  }

  public static LoopbackServer start(ServerServiceDefinition... services) {
    NettyServerBuilder builder = NettyServerBuilder.forAddress(new InetSocketAddress("127.0.0.1", 0));
    for (ServerServiceDefinition service : services) {
      builder.addService(service);
    }
    return startBuilt(builder);
  }

  private static LoopbackServer startBuilt(NettyServerBuilder builder) {
    try {
      return new LoopbackServer(builder.build().start());
    } catch (IOException e) {
      throw new UncheckedIOException("cannot start loopback server", e);
    }
  }

  public int port() {
    return server.getPort();
  }

  public String address() {
    return "127.0.0.1:" + port();
  }

  /** A plaintext channel to this server, closed with it. */
  public synchronized ManagedChannel channel() {
    ManagedChannel channel = NettyChannelBuilder.forAddress("127.0.0.1", port()).usePlaintext().build();
    channels.add(channel);
    return channel;
  }

  @Override
  public synchronized void close() {
    channels.forEach(ManagedChannel::shutdownNow);
    server.shutdownNow();
    try {
      server.awaitTermination(5, TimeUnit.SECONDS);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }
}
