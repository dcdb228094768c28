package dev.protomatch.it;

import com.google.protobuf.util.Durations;
import dev.protomatch.agent.RegistrationAgent;
import dev.protomatch.api.v1.Endpoint;
import dev.protomatch.api.v1.RegisterRequest;
import dev.protomatch.api.v1.ServiceAdvertisement;
import dev.protomatch.descriptor.RuntimeDescriptors;
import dev.protomatch.it.slow.SlowProto;
import io.grpc.Server;
import io.grpc.netty.shaded.io.grpc.netty.NettyServerBuilder;
import io.grpc.protobuf.services.ProtoReflectionServiceV1;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.util.Optional;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;

/**
 * A protomatch.it.Slow server on loopback with reflection, registered with a control plane through a
 * {@link RegistrationAgent} (as {@code protomatch greeter --register} does for the Greeter). Runs in the test
 * JVM, or as its own process through {@link #main} so that {@code kill -9} is real ({@link SlowServerProcess}).
 */
final class SlowServer implements AutoCloseable {
  static final String SERVICE = "protomatch.it.Slow";

  private final ScheduledExecutorService scheduler;
  private final SlowService service;
  private final Server server;
  private final RegistrationAgent agent;

  private SlowServer(ScheduledExecutorService scheduler, SlowService service, Server server, RegistrationAgent agent) {
    this.scheduler = scheduler;
    this.service = service;
    this.server = server;
    this.agent = agent;
  }

  /**
   * Starts serving on a free port and registers with the control plane whose registration service listens
   * on {@code registrationPort}, asking for a lease of {@code ttlSeconds}.
   */
  static SlowServer start(String instance, int registrationPort, String token, int ttlSeconds) throws IOException {
    ScheduledExecutorService scheduler = Executors.newScheduledThreadPool(2, runnable -> {
      Thread thread = new Thread(runnable, "slow-" + instance);
      thread.setDaemon(true);
      return thread;
    });
    SlowService service = new SlowService(instance, scheduler);
    Server server = NettyServerBuilder.forAddress(new InetSocketAddress("127.0.0.1", 0))
        .addService(service)
        .addService(ProtoReflectionServiceV1.newInstance())
        .build()
        .start();
    RegistrationAgent agent = new RegistrationAgent("127.0.0.1:" + registrationPort, Optional.of(token),
        RegisterRequest.newBuilder()
            .setEndpoint(Endpoint.newBuilder().setHost("127.0.0.1").setPort(server.getPort())
                .putLabels("instance", instance)
                .addServices(ServiceAdvertisement.newBuilder().setName(SERVICE)
                    .setFileDescriptorSet(RuntimeDescriptors.fileDescriptorSet(SlowProto.getDescriptor()).toByteString())))
            .setTtl(Durations.fromSeconds(ttlSeconds))
            .build());
    agent.start();
    return new SlowServer(scheduler, service, server, agent);
  }

  int port() {
    return server.getPort();
  }

  SlowService service() {
    return service;
  }

  /** Deregisters and stops at once (calls in progress are cancelled). */
  @Override
  public void close() {
    agent.close();
    server.shutdownNow();
    try {
      server.awaitTermination(5, TimeUnit.SECONDS);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
    scheduler.shutdownNow();
  }

  /**
   * {@code SlowServer INSTANCE REGISTRATION_PORT TTL_SECONDS}, the token in {@link Fleet#TOKEN_ENV}; prints
   * {@code listening on 127.0.0.1:PORT} and serves until killed.
   */
  public static void main(String[] args) throws Exception {
    SlowServer server = start(args[0], Integer.parseInt(args[1]), System.getenv(Fleet.TOKEN_ENV),
        Integer.parseInt(args[2]));
    System.out.println("slow server " + args[0] + " listening on 127.0.0.1:" + server.port());
    System.out.flush();
    new CountDownLatch(1).await();
  }
}
