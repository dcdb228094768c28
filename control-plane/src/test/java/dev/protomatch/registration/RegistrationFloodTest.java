package dev.protomatch.registration;

import static org.assertj.core.api.Assertions.assertThat;

import dev.protomatch.api.v1.Endpoint;
import dev.protomatch.api.v1.Locality;
import dev.protomatch.api.v1.RegisterRequest;
import dev.protomatch.api.v1.RegistrationGrpc;
import dev.protomatch.api.v1.ServiceAdvertisement;
import dev.protomatch.descriptor.DescriptorHasher;
import dev.protomatch.policy.Settings;
import dev.protomatch.registry.InMemoryEndpointRegistry;
import dev.protomatch.testing.TestClock;
import io.grpc.InsecureChannelCredentials;
import io.grpc.InsecureServerCredentials;
import io.grpc.ManagedChannel;
import io.grpc.Server;
import io.grpc.ServerInterceptors;
import io.grpc.Status;
import io.grpc.netty.shaded.io.grpc.netty.NettyChannelBuilder;
import io.grpc.netty.shaded.io.grpc.netty.NettyServerBuilder;
import java.lang.management.ManagementFactory;
import java.net.InetSocketAddress;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/**
 * 10,000 registrations with every string at its maximum, from ten registrants: everything past the caps is
 * refused, and what protomatch keeps stays under a stated bound.
 */
class RegistrationFloodTest {
  private static final int REGISTRANTS = 10;
  private static final int PER_REGISTRANT = 1_000;
  private static final int CAP = 2_000;
  /** Each stored endpoint carries 64 labels of 253 + 253 characters: about 35 KB; 2,000 of them about 70 MB. */
  private static final long HEAP_BOUND_BYTES = 160L * 1024 * 1024;

  @Test
  void registrationsPastTheCapsAreRefusedAndTheHeapStaysBounded() throws Exception {
    InMemoryEndpointRegistry registry = new InMemoryEndpointRegistry(TestClock.atEpochPlusOneDay());
    Settings settings = Settings.defaults().withAuth(Settings.Auth.insecureForDevelopment());
    Settings.Limits d = settings.limits();
    Settings capped = new Settings(settings.lease(), settings.probe(), settings.auth(),
        new Settings.Limits(d.maxMessageBytes(), d.maxServicesPerEndpoint(), d.maxEndpointsPerClient(), d.maxWeight(), CAP));
    RegistrationService service = new RegistrationService(registry, () -> capped, new DescriptorHasher());
    Server server = NettyServerBuilder.forAddress(new InetSocketAddress("127.0.0.1", 0), InsecureServerCredentials.create())
        .addService(ServerInterceptors.intercept(service, new BearerTokenInterceptor(capped::auth, name -> null)))
        .build().start();
    long before = usedHeapAfterGc();
    List<ManagedChannel> channels = new ArrayList<>();
    ExecutorService pool = Executors.newFixedThreadPool(8);
    Map<Status.Code, Integer> outcomes = new ConcurrentHashMap<>();
    try {
      List<Future<?>> calls = new ArrayList<>();
      for (int r = 0; r < REGISTRANTS; r++) {
        String source = "127.0.1." + (r + 1);
        ManagedChannel channel = NettyChannelBuilder.forAddress("127.0.0.1", server.getPort(),
                InsecureChannelCredentials.create())
            .localSocketPicker(new NettyChannelBuilder.LocalSocketPicker() {
              @Override
              public java.net.SocketAddress createSocketAddress(java.net.SocketAddress remote, io.grpc.Attributes attrs) {
                return new InetSocketAddress(source, 0);
              }
            }).build();
        channels.add(channel);
        RegistrationGrpc.RegistrationBlockingStub stub = RegistrationGrpc.newBlockingStub(channel);
        for (int i = 0; i < PER_REGISTRANT; i++) {
          RegisterRequest request = maximal(source, 10_000 + i);
          calls.add(pool.submit(() -> {
            Status.Code code;
            try {
              stub.withDeadlineAfter(60, TimeUnit.SECONDS).register(request);
              code = Status.Code.OK;
            } catch (io.grpc.StatusRuntimeException e) {
              code = e.getStatus().getCode();
            }
            outcomes.merge(code, 1, Integer::sum);
          }));
        }
      }
      for (Future<?> call : calls) {
        call.get(5, TimeUnit.MINUTES);
      }
      long grown = usedHeapAfterGc() - before;
      System.out.printf("registration flood: %s, registry holds %d, heap grown by %d MiB (bound %d MiB)%n", outcomes,
          registry.registeredCount(), grown >> 20, HEAP_BOUND_BYTES >> 20);

      assertThat(outcomes).containsOnlyKeys(Status.Code.OK, Status.Code.RESOURCE_EXHAUSTED);
      // The global cap is checked under each registrant's own lock: registrants racing can pass it together,
      // by at most the calls in flight (8 here).
      int accepted = outcomes.get(Status.Code.OK);
      assertThat(accepted).isBetween(CAP, CAP + 8);
      assertThat(outcomes.get(Status.Code.RESOURCE_EXHAUSTED)).isEqualTo(REGISTRANTS * PER_REGISTRANT - accepted);
      assertThat(registry.registeredCount()).isEqualTo(accepted);
      assertThat(grown).as("heap grown by %d MiB", grown >> 20).isLessThan(HEAP_BOUND_BYTES);
    } finally {
      pool.shutdownNow();
      channels.forEach(ManagedChannel::shutdownNow);
      server.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
    }
  }

  /** A registration with every bounded string at its maximum length, at {@code host:port}. */
  private static RegisterRequest maximal(String host, int port) {
    Endpoint.Builder endpoint = Endpoint.newBuilder().setHost(host).setPort(port)
        .setLocality(Locality.newBuilder().setRegion(text('r', 253, port)).setZone(text('z', 253, port))
            .setSubZone(text('s', 253, port)))
        .addServices(ServiceAdvertisement.newBuilder().setName("a" + ".b".repeat(126))
            .setApiHash("sha256:" + "cd".repeat(32)));
    for (int l = 0; l < 64; l++) {
      endpoint.putLabels(text((char) ('a' + l % 26), 250, l * 1_000 + port % 1_000), text('v', 253, port));
    }
    return RegisterRequest.newBuilder().setEndpoint(endpoint).build();
  }

  /** {@code length} characters: {@code c} repeated, ending in {@code n} (distinct strings, nothing to share). */
  private static String text(char c, int length, int n) {
    String suffix = Integer.toString(n);
    return String.valueOf(c).repeat(length - suffix.length()) + suffix;
  }

  private static long usedHeapAfterGc() throws InterruptedException {
    for (int i = 0; i < 3; i++) {
      System.gc();
      Thread.sleep(100);
    }
    return ManagementFactory.getMemoryMXBean().getHeapMemoryUsage().getUsed();
  }

}
