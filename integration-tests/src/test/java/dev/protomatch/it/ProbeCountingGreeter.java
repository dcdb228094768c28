package dev.protomatch.it;

import com.google.protobuf.util.Durations;
import dev.protomatch.api.v1.Endpoint;
import dev.protomatch.api.v1.RegisterRequest;
import dev.protomatch.api.v1.RegistrationGrpc;
import dev.protomatch.api.v1.ServiceAdvertisement;
import dev.protomatch.demo.DemoGreeters;
import dev.protomatch.descriptor.RuntimeDescriptors;
import io.grpc.Grpc;
import io.grpc.InsecureChannelCredentials;
import io.grpc.ManagedChannel;
import io.grpc.Metadata;
import io.grpc.Server;
import io.grpc.ServerCall;
import io.grpc.ServerCallHandler;
import io.grpc.ServerInterceptor;
import io.grpc.ServerInterceptors;
import io.grpc.netty.shaded.io.grpc.netty.NettyServerBuilder;
import io.grpc.protobuf.services.ProtoReflectionServiceV1;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.time.Duration;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;

/**
 * A demo.Greeter v3 server in this JVM whose reflection service counts the calls it receives (each is one
 * probe's reflection stream), so a test can measure how often the fleet's replicas probe one endpoint. It
 * registers itself once, with a long TTL and no renewals ({@link #register}).
 */
final class ProbeCountingGreeter implements AutoCloseable {
  private final AtomicLong reflectionCalls = new AtomicLong();
  private final AtomicLong lastCallNanos = new AtomicLong();
  private final Server server;
  private final String instance;

  ProbeCountingGreeter(String instance) throws IOException {
    this.instance = instance;
    ServerInterceptor counter = new ServerInterceptor() {
      @Override
      public <Q, A> ServerCall.Listener<Q> interceptCall(ServerCall<Q, A> call, Metadata headers,
                                                         ServerCallHandler<Q, A> next) {
        lastCallNanos.set(System.nanoTime());
        reflectionCalls.incrementAndGet();
        return next.startCall(call, headers);
      }
    };
    server = NettyServerBuilder.forAddress(new InetSocketAddress("127.0.0.1", 0))
        .addService(DemoGreeters.v3(instance))
        .addService(ServerInterceptors.intercept(ProtoReflectionServiceV1.newInstance(), counter))
        .build().start();
  }

  int port() {
    return server.getPort();
  }

  /** Reflection calls received so far. */
  long reflectionCalls() {
    return reflectionCalls.get();
  }

  /** {@link System#nanoTime()} at the last reflection call (0: none yet). */
  long lastCallNanos() {
    return lastCallNanos.get();
  }

  /** One Register call to the replica at {@code registrationPort}; throws StatusRuntimeException as the replica answers. */
  void register(int registrationPort, Duration ttl) {
    register(registrationPort, ttl, Duration.ofSeconds(15));
  }

  /** The same with the call deadline {@code deadline}. */
  void register(int registrationPort, Duration ttl, Duration deadline) {
    ManagedChannel channel = Grpc.newChannelBuilderForAddress("127.0.0.1", registrationPort,
        InsecureChannelCredentials.create()).build();
    try {
      RegistrationGrpc.newBlockingStub(channel).withDeadlineAfter(deadline.toMillis(), TimeUnit.MILLISECONDS)
          .register(RegisterRequest.newBuilder()
              .setEndpoint(Endpoint.newBuilder().setHost("127.0.0.1").setPort(port())
                  .putLabels("build", "v3").putLabels("instance", instance)
                  .addServices(ServiceAdvertisement.newBuilder().setName("demo.Greeter")
                      .setFileDescriptorSet(RuntimeDescriptors.fileDescriptorSet(
                          dev.protomatch.demo.v3.GreeterProto.getDescriptor()).toByteString())))
              .setTtl(Durations.fromMillis(ttl.toMillis()))
              .build());
    } finally {
      channel.shutdownNow();
    }
  }

  @Override
  public void close() throws InterruptedException {
    server.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
  }
}
