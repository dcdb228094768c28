package dev.protomatch.benchmarks;

import dev.protomatch.api.v1.DeregisterRequest;
import dev.protomatch.api.v1.Endpoint;
import dev.protomatch.api.v1.RegisterRequest;
import dev.protomatch.api.v1.RegistrationGrpc;
import dev.protomatch.api.v1.ServiceAdvertisement;
import dev.protomatch.demo.DemoGreeters;
import dev.protomatch.demo.v2.GreeterGrpc;
import dev.protomatch.demo.v2.HelloRequest;
import dev.protomatch.descriptor.RuntimeDescriptors;
import dev.protomatch.server.ControlPlane;
import dev.protomatch.server.ControlPlaneOptions;
import io.grpc.Grpc;
import io.grpc.InsecureChannelCredentials;
import io.grpc.ManagedChannel;
import io.grpc.Server;
import io.grpc.netty.shaded.io.grpc.netty.NettyChannelBuilder;
import io.grpc.netty.shaded.io.grpc.netty.NettyServerBuilder;
import io.grpc.xds.XdsNameResolverProvider;
import java.net.InetSocketAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.TimeUnit;

/**
 * Load harness (not a unit test): how long from a registration change until connected xDS clients' traffic
 * follows it.
 *
 * <p>A control plane, two demo.Greeter v2 servers (A, B) and {@code --clients} real grpc-java xDS clients,
 * each with its own ADS stream, all on loopback. Every client calls SayHello every {@code --poll-ms}. Each
 * round registers the idle instance and deregisters the active one through the registration API, then
 * records, per client, the time from the start of the registration call to the first reply from the newly
 * registered instance. Prints median, p90, p99 and max over all clients and rounds.
 *
 * <p>Run: {@code java -cp benchmarks/target/benchmarks.jar dev.protomatch.benchmarks.PropagationHarness
 * --clients 100 --rounds 20 --poll-ms 20}.
 */
public final class PropagationHarness {
  private PropagationHarness() {}

  public static void main(String[] args) throws Exception {
    int clients = intArg(args, "--clients", 1);
    int rounds = intArg(args, "--rounds", 20);
    int pollMillis = intArg(args, "--poll-ms", 5);

    Server a = greeter("A");
    Server b = greeter("B");
    Path policy = Files.writeString(Files.createTempFile("protomatch-harness", ".yaml"), """
        settings:
          auth:
            insecure: true
        services:
          - service: demo.Greeter
            cluster: demo-greeter
            expect:
              methods: [SayHello]
        """);
    List<Client> callers = new ArrayList<>();
    try (ControlPlane controlPlane = ControlPlane.start(
        ControlPlaneOptions.loopbackDefaults(Optional.of(policy)).withPorts(0, 0, 0), Clock.systemUTC(), System::getenv)) {
      ManagedChannel registrationChannel = NettyChannelBuilder.forAddress("127.0.0.1", controlPlane.registrationPort())
          .usePlaintext().build();
      RegistrationGrpc.RegistrationBlockingStub registration = RegistrationGrpc.newBlockingStub(registrationChannel);
      String lease = register(registration, a.getPort());
      for (int i = 0; i < clients; i++) {
        callers.add(new Client(controlPlane.xdsPort(), i, pollMillis));
      }
      awaitAll(callers, "A", System.nanoTime(), 60_000);

      List<Long> latencies = new ArrayList<>();
      String active = "A";
      for (int round = 0; round < rounds; round++) {
        String next = active.equals("A") ? "B" : "A";
        long start = System.nanoTime();
        String nextLease = register(registration, (next.equals("A") ? a : b).getPort());
        registration.deregister(DeregisterRequest.newBuilder().setLeaseId(lease).build());
        latencies.addAll(awaitAll(callers, next, start, 30_000));
        lease = nextLease;
        active = next;
        Thread.sleep(200);
      }
      Collections.sort(latencies);
      System.out.printf("propagation: clients=%d rounds=%d poll=%dms samples=%d median=%.1fms p90=%.1fms p99=%.1fms"
              + " max=%.1fms%n", clients, rounds, pollMillis, latencies.size(), ms(pct(latencies, 50)),
          ms(pct(latencies, 90)), ms(pct(latencies, 99)), ms(latencies.get(latencies.size() - 1)));
      registrationChannel.shutdownNow();
    } finally {
      callers.forEach(Client::close);
      a.shutdownNow();
      b.shutdownNow();
    }
  }

  /** One proxyless client with its own xDS stream, calling continuously and noting who answers. */
  private static final class Client implements AutoCloseable {
    private final ManagedChannel channel;
    private final Thread thread;
    private volatile boolean running = true;
    private volatile String lastAnswer = "";
    private volatile long lastAnswerAt;

    @SuppressWarnings("deprecation") // a private resolver per client gives every client its own ADS stream
    Client(int xdsPort, int index, int pollMillis) {
      String scheme = "xds-harness-" + index;
      XdsNameResolverProvider provider = XdsNameResolverProvider.createForTest(scheme, Map.of(
          "xds_servers", List.of(Map.of("server_uri", "127.0.0.1:" + xdsPort,
              "channel_creds", List.of(Map.of("type", "insecure")), "server_features", List.of("xds_v3"))),
          "node", Map.of("id", "harness-client-" + index, "cluster", "harness")));
      channel = Grpc.newChannelBuilder(scheme + ":///demo-greeter", InsecureChannelCredentials.create())
          .nameResolverFactory(provider).build();
      GreeterGrpc.GreeterBlockingStub stub = GreeterGrpc.newBlockingStub(channel);
      thread = new Thread(() -> {
        while (running) {
          try {
            String reply = stub.withDeadlineAfter(2, TimeUnit.SECONDS)
                .sayHello(HelloRequest.newBuilder().setName("harness").build()).getMessage();
            lastAnswerAt = System.nanoTime();
            lastAnswer = reply.contains(" from A ") ? "A" : reply.contains(" from B ") ? "B" : "";
          } catch (RuntimeException e) {
            lastAnswer = "";
          }
          try {
            Thread.sleep(pollMillis);
          } catch (InterruptedException e) {
            return;
          }
        }
      }, "harness-client-" + index);
      thread.setDaemon(true);
      thread.start();
    }

    @Override
    public void close() {
      running = false;
      channel.shutdownNow();
    }
  }

  /** Waits until every client's latest reply came from {@code instance}; returns each one's delay from {@code start}. */
  private static List<Long> awaitAll(List<Client> clients, String instance, long start, long timeoutMillis)
      throws InterruptedException {
    long[] shifted = new long[clients.size()];
    long deadline = start + TimeUnit.MILLISECONDS.toNanos(timeoutMillis);
    int remaining = clients.size();
    while (remaining > 0) {
      if (System.nanoTime() > deadline) {
        throw new IllegalStateException(remaining + " client(s) never reached instance " + instance);
      }
      for (int i = 0; i < clients.size(); i++) {
        Client client = clients.get(i);
        if (shifted[i] == 0 && client.lastAnswer.equals(instance) && client.lastAnswerAt > start) {
          shifted[i] = client.lastAnswerAt - start;
          remaining--;
        }
      }
      Thread.sleep(1);
    }
    List<Long> result = new ArrayList<>();
    for (long value : shifted) {
      result.add(value);
    }
    return result;
  }

  private static Server greeter(String instance) throws java.io.IOException {
    return NettyServerBuilder.forAddress(new InetSocketAddress("127.0.0.1", 0))
        .addService(DemoGreeters.v2(instance))
        .addService(io.grpc.protobuf.services.ProtoReflectionServiceV1.newInstance())
        .build().start();
  }

  private static String register(RegistrationGrpc.RegistrationBlockingStub registration, int port) {
    return registration.register(RegisterRequest.newBuilder()
        .setEndpoint(Endpoint.newBuilder().setHost("127.0.0.1").setPort(port)
            .addServices(ServiceAdvertisement.newBuilder().setName("demo.Greeter")
                .setFileDescriptorSet(RuntimeDescriptors.fileDescriptorSet(
                    dev.protomatch.demo.v2.GreeterProto.getDescriptor()).toByteString())))
        .build()).getLeaseId();
  }

  private static long pct(List<Long> sorted, int percentile) {
    return sorted.get(Math.min(sorted.size() - 1, (int) Math.ceil(percentile / 100.0 * sorted.size()) - 1));
  }

  private static double ms(long nanos) {
    return nanos / 1e6;
  }

  private static int intArg(String[] args, String name, int fallback) {
    for (int i = 0; i < args.length - 1; i++) {
      if (args[i].equals(name)) {
        return Integer.parseInt(args[i + 1]);
      }
    }
    return fallback;
  }
}
