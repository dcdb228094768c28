package dev.protomatch.server;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.protomatch.api.v1.Endpoint;
import dev.protomatch.api.v1.RegisterRequest;
import dev.protomatch.api.v1.RegistrationGrpc;
import dev.protomatch.demo.DemoGreeters;
import dev.protomatch.demo.v2.GreeterGrpc;
import dev.protomatch.demo.v2.HelloRequest;
import dev.protomatch.registration.RegistrationServiceTestSupport;
import dev.protomatch.registry.EtcdTarget;
import dev.protomatch.testing.EtcdProcess;
import dev.protomatch.testing.LoopbackServer;
import dev.protomatch.testing.XdsClients;
import io.grpc.EquivalentAddressGroup;
import io.grpc.ManagedChannel;
import io.grpc.NameResolver;
import io.grpc.NameResolverProvider;
import io.grpc.NameResolverRegistry;
import io.grpc.StatusOr;
import io.grpc.netty.shaded.io.grpc.netty.NettyChannelBuilder;
import java.net.InetSocketAddress;
import java.net.SocketAddress;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A proxyless client whose xDS server URI names every replica (what one DNS name for all replicas gives) moves to
 * a live replica when its own goes away, and takes the fleet's changes from there: a greeter registered with the
 * other replica while the client's first replica is down receives its calls.
 */
class XdsClientFailoverTest {
  /** {@code replicas:///host:port,host:port}: every replica's xDS address, as a DNS name with several records. */
  private static final class ReplicasResolverProvider extends NameResolverProvider {
    @Override
    protected boolean isAvailable() {
      return true;
    }

    @Override
    protected int priority() {
      return 1; // below dns (5): never the default scheme of this JVM
    }

    @Override
    public String getDefaultScheme() {
      return "replicas";
    }

    @Override
    public Collection<Class<? extends SocketAddress>> getProducedSocketAddressTypes() {
      return List.of(InetSocketAddress.class);
    }

    @Override
    public NameResolver newNameResolver(URI target, NameResolver.Args args) {
      if (!"replicas".equals(target.getScheme())) {
        return null;
      }
      List<EquivalentAddressGroup> addresses = new ArrayList<>();
      for (String hostPort : target.getPath().substring(1).split(",")) {
        int colon = hostPort.lastIndexOf(':');
        addresses.add(new EquivalentAddressGroup(new InetSocketAddress(hostPort.substring(0, colon),
            Integer.parseInt(hostPort.substring(colon + 1)))));
      }
      return new NameResolver() {
        @Override
        public String getServiceAuthority() {
          return "replicas";
        }

        @Override
        public void start(Listener2 listener) {
          listener.onResult(ResolutionResult.newBuilder().setAddressesOrError(StatusOr.fromValue(addresses)).build());
        }

        @Override
        public void shutdown() {
        }
      };
    }
  }

  private static EtcdProcess etcd;
  private static LoopbackServer first;
  private static LoopbackServer second;

  @TempDir
  Path dir;

  @BeforeAll
  static void start() {
    NameResolverRegistry.getDefaultRegistry().register(new ReplicasResolverProvider());
    etcd = EtcdProcess.startSingle();
    first = LoopbackServer.start(LoopbackServer.Reflection.V1_AND_V1ALPHA, DemoGreeters.v2("first"));
    second = LoopbackServer.start(LoopbackServer.Reflection.V1_AND_V1ALPHA, DemoGreeters.v2("second"));
  }

  @AfterAll
  static void stop() throws InterruptedException {
    first.close();
    second.close();
    etcd.close();
  }

  @Test
  void aClientWhoseReplicaGoesAwayTakesChangesFromAnotherReplica() throws Exception {
    ControlPlane a = replica("a");
    ControlPlane b = replica("b");
    ManagedChannel channel = XdsClients.channel(XdsClients.bootstrap(List.of(
        "replicas:///127.0.0.1:" + a.xdsPort() + ",127.0.0.1:" + b.xdsPort()), "failover-client"), "demo-greeter");
    try {
      register(a, first.port());
      await().atMost(Duration.ofSeconds(30)).until(() -> reply(channel).contains("from first"));
      assertThat(a.clients().clients()).as("the client's stream is on replica a").hasSize(1);

      a.close();
      register(b, second.port());

      await().atMost(Duration.ofSeconds(30)).until(() -> reply(channel).contains("from second"));
      assertThat(b.clients().clients()).as("the client's stream moved to replica b").hasSize(1);
    } finally {
      channel.shutdownNow();
      b.close();
      a.close();
    }
  }

  private static String reply(ManagedChannel channel) {
    try {
      return GreeterGrpc.newBlockingStub(channel).withDeadlineAfter(2, TimeUnit.SECONDS)
          .sayHello(HelloRequest.newBuilder().setName("failover").build()).getMessage();
    } catch (io.grpc.StatusRuntimeException e) {
      return e.getStatus().toString();
    }
  }

  private ControlPlane replica(String id) throws Exception {
    Path policy = dir.resolve("policies.yaml");
    if (!Files.exists(policy)) {
      Files.writeString(policy, """
          settings:
            auth:
              insecure: true
          services:
            - service: demo.Greeter
              cluster: demo-greeter
              expect: newest
          """);
    }
    return ControlPlane.start(ControlPlaneOptions.loopbackDefaults(Optional.of(policy)).withPorts(0, 0, 0)
        .withWarmup(Optional.empty()).withEtcd(EtcdTarget.parse(etcd.url()), id), Clock.systemUTC(),
        Map.<String, String>of()::get);
  }

  private static void register(ControlPlane replica, int port) {
    ManagedChannel channel = NettyChannelBuilder.forAddress("127.0.0.1", replica.registrationPort())
        .usePlaintext().build();
    try {
      RegistrationGrpc.newBlockingStub(channel).withDeadlineAfter(20, TimeUnit.SECONDS)
          .register(RegisterRequest.newBuilder()
              .setEndpoint(Endpoint.newBuilder().setHost("127.0.0.1").setPort(port)
                  .addServices(RegistrationServiceTestSupport.greeterV2WithDescriptors()))
              .build());
    } finally {
      channel.shutdownNow();
    }
  }
}
