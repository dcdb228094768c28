package dev.protomatch.server;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import dev.protomatch.api.v1.Endpoint;
import dev.protomatch.api.v1.RegisterRequest;
import dev.protomatch.api.v1.RegistrationGrpc;
import dev.protomatch.decision.RoutableEndpoint;
import dev.protomatch.demo.DemoGreeters;
import dev.protomatch.registration.RegistrationServiceTestSupport;
import dev.protomatch.registry.EndpointAddress;
import dev.protomatch.registry.EtcdTarget;
import dev.protomatch.registry.RegistryUnavailableException;
import dev.protomatch.testing.EtcdProcess;
import dev.protomatch.testing.LoopbackServer;
import dev.protomatch.xds.NodeKind;
import io.envoyproxy.controlplane.cache.v3.Snapshot;
import io.grpc.ManagedChannel;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.netty.shaded.io.grpc.netty.NettyChannelBuilder;
import java.io.IOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Control planes sharing a registry in a real etcd: what one replica registers, the other publishes, byte for
 * byte; a replica that starts publishes etcd's state at once; etcd trouble keeps the last decision and makes
 * registrations retryable.
 */
class ControlPlaneOnEtcdTest {
  private static LoopbackServer v2;
  private static EtcdProcess etcd;

  @TempDir
  Path dir;
  private final java.util.List<ControlPlane> replicas = new java.util.ArrayList<>();

  @BeforeAll
  static void start() {
    v2 = LoopbackServer.start(LoopbackServer.Reflection.V1_AND_V1ALPHA, DemoGreeters.v2("etcd-v2"));
    etcd = EtcdProcess.startSingle();
  }

  @AfterAll
  static void stop() throws InterruptedException {
    etcd.close();
    v2.close();
  }

  @AfterEach
  void closeReplicas() {
    replicas.forEach(ControlPlane::close);
  }

  @Test
  void whatOneReplicaRegistersTheOtherPublishesWithTheSameVersions() throws Exception {
    ControlPlane a = replica("a");
    ControlPlane b = replica("b");

    register(a, v2.port());

    for (ControlPlane replica : java.util.List.of(a, b)) {
      await().atMost(Duration.ofSeconds(20)).untilAsserted(() -> assertThat(included(replica))
          .containsExactly(new EndpointAddress("127.0.0.1", v2.port())));
    }
    await().atMost(Duration.ofSeconds(10)).untilAsserted(() -> {
      for (NodeKind kind : NodeKind.values()) {
        assertThat(snapshot(b, kind).version(io.envoyproxy.controlplane.cache.Resources.ResourceType.ENDPOINT,
            java.util.List.of())).isEqualTo(snapshot(a, kind).version(
                io.envoyproxy.controlplane.cache.Resources.ResourceType.ENDPOINT, java.util.List.of()));
        assertThat(resources(b, kind)).isEqualTo(resources(a, kind));
      }
    });
  }

  @Test
  void aReplicaThatStartsPublishesEtcdsStateAtOnce() throws Exception {
    ControlPlane a = replica("a");
    register(a, v2.port());
    await().atMost(Duration.ofSeconds(20)).untilAsserted(() -> assertThat(included(a)).isNotEmpty());

    ControlPlane restarted = replica("restarted");

    assertThat(restarted.isReady()).as("ready without a warm-up").isTrue();
    assertThat(included(restarted)).containsExactly(new EndpointAddress("127.0.0.1", v2.port()));
    for (NodeKind kind : NodeKind.values()) {
      assertThat(resources(restarted, kind)).isEqualTo(resources(a, kind));
    }
  }

  @Test
  void withEtcdDownRegistrationsAreUnavailableAndTheLastDecisionStays() throws Exception {
    ControlPlane a = replica("a");
    register(a, v2.port());
    await().atMost(Duration.ofSeconds(20)).untilAsserted(() -> assertThat(included(a)).isNotEmpty());
    Map<String, String> before = resources(a, NodeKind.PROXYLESS);

    etcd.stop(0);
    try {
      assertThatThrownBy(() -> register(a, v2.port() + 1))
          .isInstanceOfSatisfying(StatusRuntimeException.class,
              e -> assertThat(e.getStatus().getCode()).isEqualTo(Status.Code.UNAVAILABLE));
      await().atMost(Duration.ofSeconds(20)).untilAsserted(() -> assertThat(readyz(a))
          .startsWith("503 not ready: etcd unreachable"));
      assertThat(resources(a, NodeKind.PROXYLESS)).isEqualTo(before);
      assertThat(included(a)).containsExactly(new EndpointAddress("127.0.0.1", v2.port()));
    } finally {
      etcd.restart(0);
    }

    await().atMost(Duration.ofSeconds(30)).untilAsserted(() -> assertThat(readyz(a)).isEqualTo("200 ready"));
    register(a, v2.port());
    assertThat(included(a)).containsExactly(new EndpointAddress("127.0.0.1", v2.port()));
  }

  @Test
  void aStartWithEtcdDownFailsWithOneLineAndReleasesItsPorts() throws Exception {
    int admin = freePort();
    int deadPort = freePort();

    assertThatThrownBy(() -> ControlPlane.start(ControlPlaneOptions.loopbackDefaults(Optional.of(policy()))
            .withPorts(0, 0, admin).withWarmup(Optional.empty())
            .withEtcd(EtcdTarget.parse("etcd://127.0.0.1:" + deadPort), "down"),
        Clock.systemUTC(), Map.<String, String>of()::get))
        .isInstanceOf(RegistryUnavailableException.class)
        .hasMessageContaining("127.0.0.1:" + deadPort);

    try (ServerSocket again = new ServerSocket(admin, 50, InetAddress.getLoopbackAddress())) {
      assertThat(again.getLocalPort()).isEqualTo(admin);
    }
  }

  private ControlPlane replica(String id) throws Exception {
    ControlPlane replica = ControlPlane.start(ControlPlaneOptions.loopbackDefaults(Optional.of(policy()))
        .withPorts(0, 0, 0).withWarmup(Optional.empty()).withEtcd(EtcdTarget.parse(etcd.url()), id),
        Clock.systemUTC(), Map.<String, String>of()::get);
    replicas.add(replica);
    return replica;
  }

  private Path policy() throws IOException {
    Path file = dir.resolve("policies.yaml");
    if (!Files.exists(file)) {
      Files.writeString(file, """
          settings:
            auth:
              insecure: true
          services:
            - service: demo.Greeter
              cluster: demo-greeter
              expect: newest
          """);
    }
    return file;
  }

  private static java.util.List<EndpointAddress> included(ControlPlane replica) {
    return replica.updater().updateNow().services().get("demo.Greeter").included().stream()
        .map(RoutableEndpoint::address).toList();
  }

  private static Snapshot snapshot(ControlPlane replica, NodeKind kind) {
    return replica.snapshotCache().getSnapshot(kind.group());
  }

  /** Every published resource of the node group, by type and name, as serialized bytes (hex). */
  private static Map<String, String> resources(ControlPlane replica, NodeKind kind) {
    Snapshot snapshot = snapshot(replica, kind);
    Map<String, String> all = new java.util.TreeMap<>();
    for (io.envoyproxy.controlplane.cache.Resources.ResourceType type
        : io.envoyproxy.controlplane.cache.Resources.ResourceType.values()) {
      snapshot.resources(type).forEach((name, resource) -> all.put(type + " " + name,
          java.util.HexFormat.of().formatHex(((com.google.protobuf.Message) resource).toByteArray())));
      all.put(type + " version", snapshot.version(type, java.util.List.of()));
    }
    return all;
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

  private static String readyz(ControlPlane replica) throws Exception {
    HttpResponse<String> response = HttpClient.newHttpClient().send(HttpRequest.newBuilder(
        URI.create("http://127.0.0.1:" + replica.adminPort() + "/readyz")).build(), HttpResponse.BodyHandlers.ofString());
    return response.statusCode() + " " + response.body().strip();
  }

  private static int freePort() throws IOException {
    try (ServerSocket socket = new ServerSocket(0, 50, InetAddress.getLoopbackAddress())) {
      return socket.getLocalPort();
    }
  }
}
