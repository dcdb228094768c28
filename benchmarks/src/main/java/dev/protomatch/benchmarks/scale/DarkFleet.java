package dev.protomatch.benchmarks.scale;

import io.grpc.Server;
import io.grpc.netty.shaded.io.grpc.netty.NettyServerBuilder;
import java.io.IOException;
import java.net.InetSocketAddress;

/**
 * What stands at every fleet endpoint's address: one gRPC server with no services, listening on the wildcard
 * address so that a connection to any {@code 127.a.b.c:<port>} reaches it (the fleet's 10,000 addresses could
 * not each have a listening socket of their own within the file descriptor limit). protomatch's reflection probe
 * gets UNIMPLEMENTED, which it reads as "no reflection", and {@code without-reflection: trust-advertised} then
 * routes the endpoint by the descriptor set it registered. An address with nothing listening would instead be
 * excluded as unreachable. It serves no traffic: the harness sends none.
 */
final class DarkFleet implements AutoCloseable {
  private final Server server;

  private DarkFleet(Server server) {
    this.server = server;
  }

  static DarkFleet start(int port) throws IOException {
    return new DarkFleet(NettyServerBuilder.forAddress(new InetSocketAddress("0.0.0.0", port)).build().start());
  }

  int port() {
    return server.getPort();
  }

  @Override
  public void close() {
    server.shutdownNow();
  }
}
