package dev.protomatch.server;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import dev.protomatch.api.v1.Endpoint;
import dev.protomatch.api.v1.RegisterRequest;
import dev.protomatch.api.v1.RegistrationGrpc;
import dev.protomatch.decision.RoutableEndpoint;
import dev.protomatch.decision.ServiceDecision;
import dev.protomatch.demo.DemoGreeters;
import dev.protomatch.policy.ReloadOutcome;
import dev.protomatch.registration.RegistrationServiceTestSupport;
import dev.protomatch.registry.EndpointAddress;
import dev.protomatch.registry.IpLiterals;
import dev.protomatch.testing.LoopbackServer;
import io.grpc.ManagedChannel;
import io.grpc.netty.shaded.io.grpc.netty.NettyChannelBuilder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.Map;
import java.util.Optional;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The wired control plane: config file -> static endpoints -> probes -> decision, and hot reload. */
class ControlPlaneTest {
  private static LoopbackServer v2;

  @TempDir
  Path dir;

  @BeforeAll
  static void startGreeter() {
    v2 = LoopbackServer.start(LoopbackServer.Reflection.V1_AND_V1ALPHA, DemoGreeters.v2("static-v2"));
  }

  @AfterAll
  static void stopGreeter() throws InterruptedException {
    v2.close();
  }

  @Test
  void staticEndpointFromConfigFileIsProbedAndIncluded() throws Exception {
    Path file = writePolicy("""
        settings:
          auth:
            insecure: true
        services:
          - service: demo.Greeter
            cluster: demo-greeter
            expect:
              methods: [SayHelloAgain]
            static-endpoints:
              - 127.0.0.1:%d
        """.formatted(v2.port()));

    try (ControlPlane controlPlane = start(file)) {
      await().atMost(Duration.ofSeconds(20)).untilAsserted(() -> assertThat(greeter(controlPlane).included())
          .extracting(RoutableEndpoint::address).containsExactly(new EndpointAddress("127.0.0.1", v2.port())));
    }
  }

  @Test
  void staticEndpointGivenAsHostNameIsKnownOnlyByItsAddresses() throws Exception {
    Path file = writePolicy("""
        settings:
          auth:
            insecure: true
        services:
          - service: demo.Greeter
            cluster: demo-greeter
            expect:
              methods: [SayHelloAgain]
            static-endpoints:
              - localhost:%d
        """.formatted(v2.port()));

    try (ControlPlane controlPlane = start(file)) {
      await().atMost(Duration.ofSeconds(20)).untilAsserted(() -> assertThat(greeter(controlPlane).included())
          .extracting(RoutableEndpoint::address).containsExactly(new EndpointAddress("127.0.0.1", v2.port())));
      assertThat(controlPlane.registry().state().endpoints().keySet()).extracting(EndpointAddress::host)
          .allMatch(host -> IpLiterals.canonical(host).equals(Optional.of(host)), "a canonical IP literal");
    }
  }

  @Test
  void badEditKeepsLastGoodPolicyAndEveryRegistration() throws Exception {
    Path file = writePolicy("""
        settings:
          auth:
            insecure: true
        services:
          - service: demo.Greeter
            cluster: demo-greeter
            expect:
              methods: [SayHello]
        """);
    try (ControlPlane controlPlane = start(file)) {
      register(controlPlane, v2.port());
      long version = controlPlane.policies().current().version();

      Files.writeString(file, "services:\n  - service: demo.Greeter\n    clustr: oops\n");
      ReloadOutcome outcome = controlPlane.policyWatcher().reloadNow();

      assertThat(outcome.accepted()).isFalse();
      assertThat(outcome.errors()).extracting(Object::toString).contains(file + ":3:5: unknown key 'clustr' in"
          + " services[0] (expected one of: service, cluster, expect, when-none-qualify, without-reflection,"
          + " static-endpoints, max-timeout, circuit-breakers, retries, upstream-tls, outlier-detection)");
      assertThat(controlPlane.policies().current().version()).isEqualTo(version);
      assertThat(controlPlane.registry().state().endpoints()).containsKey(new EndpointAddress("127.0.0.1", v2.port()));
      await().atMost(Duration.ofSeconds(20)).untilAsserted(() -> assertThat(greeter(controlPlane).included()).hasSize(1));
    }
  }

  @Test
  void invalidPolicyFileRefusesToStart() throws Exception {
    Path file = writePolicy("services: 42\n");

    assertThatThrownBy(() -> start(file))
        .isInstanceOfSatisfying(ControlPlane.InvalidPolicyException.class, e ->
            assertThat(e.errors()).extracting(Object::toString).containsExactly(file + ":1:11: services: expected a"
                + " list, got the number 42"));
  }

  private ControlPlane start(Path file) throws Exception {
    return ControlPlane.start(ControlPlaneOptions.loopbackDefaults(Optional.of(file)).withPorts(0, 0, 0),
        Clock.systemUTC(), Map.<String, String>of()::get);
  }

  private static ServiceDecision greeter(ControlPlane controlPlane) {
    return controlPlane.updater().updateNow().services().get("demo.Greeter");
  }

  private static void register(ControlPlane controlPlane, int port) {
    ManagedChannel channel = NettyChannelBuilder.forAddress("127.0.0.1", controlPlane.registrationPort())
        .usePlaintext().build();
    try {
      RegistrationGrpc.newBlockingStub(channel).register(RegisterRequest.newBuilder()
          .setEndpoint(Endpoint.newBuilder().setHost("127.0.0.1").setPort(port)
              .addServices(RegistrationServiceTestSupport.greeterV2WithDescriptors()))
          .build());
    } finally {
      channel.shutdownNow();
    }
  }

  private Path writePolicy(String yaml) throws Exception {
    return Files.writeString(dir.resolve("policies.yaml"), yaml);
  }
}
