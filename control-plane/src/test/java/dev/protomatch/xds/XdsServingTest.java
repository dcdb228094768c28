package dev.protomatch.xds;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.protomatch.decision.RoutingDecider;
import dev.protomatch.demo.AlternatingCaller;
import dev.protomatch.demo.DemoGreeters;
import dev.protomatch.descriptor.DescriptorHasher;
import dev.protomatch.policy.Expectation;
import dev.protomatch.policy.PolicyDocument;
import dev.protomatch.policy.ServicePolicy;
import dev.protomatch.policy.Settings;
import dev.protomatch.probe.ReflectionProber;
import dev.protomatch.registry.EndpointAddress;
import dev.protomatch.registry.InMemoryEndpointRegistry;
import dev.protomatch.registry.ProbeState;
import dev.protomatch.testing.LoopbackServer;
import dev.protomatch.testing.XdsClients;
import io.envoyproxy.controlplane.cache.v3.SimpleCache;
import io.grpc.InsecureServerCredentials;
import io.grpc.ManagedChannel;
import io.grpc.Status;
import java.net.InetSocketAddress;
import java.time.Clock;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** What a real grpc-java xDS client does with what protomatch serves: v1 never sees SayHelloAgain. */
class XdsServingTest {
  private static LoopbackServer v1;
  private static LoopbackServer v2a;
  private static LoopbackServer v2b;
  private static XdsServer xds;
  private static ManagedChannel channel;

  @BeforeAll
  static void start() throws Exception {
    v1 = LoopbackServer.start(LoopbackServer.Reflection.V1_AND_V1ALPHA, DemoGreeters.v1("v1"));
    v2a = LoopbackServer.start(LoopbackServer.Reflection.V1_AND_V1ALPHA, DemoGreeters.v2("v2a"));
    v2b = LoopbackServer.start(LoopbackServer.Reflection.V1_AND_V1ALPHA, DemoGreeters.v2("v2b"));
    InMemoryEndpointRegistry registry = new InMemoryEndpointRegistry(Clock.systemUTC());
    registry.replaceStaticEndpoints(Map.of(
        new EndpointAddress("127.0.0.1", v1.port()), Set.of("demo.Greeter"),
        new EndpointAddress("127.0.0.1", v2a.port()), Set.of("demo.Greeter"),
        new EndpointAddress("127.0.0.1", v2b.port()), Set.of("demo.Greeter")));
    try (ReflectionProber prober = new ReflectionProber(registry, new DescriptorHasher(),
        () -> Settings.defaults().probe(), Clock.systemUTC())) {
      prober.probeDue().get(30, TimeUnit.SECONDS);
    }
    assertThat(registry.state().endpoints().values()).allMatch(e -> e.probe() instanceof ProbeState.Probed);

    SimpleCache<String> cache = new SimpleCache<>(node -> NodeKind.of(node).group());
    xds = XdsServer.start(new InetSocketAddress("127.0.0.1", 0), InsecureServerCredentials.create(), cache,
        new XdsClientTracker(Clock.systemUTC()));
    PolicyDocument policies = new PolicyDocument(Settings.defaults(), List.of(new ServicePolicy("demo.Greeter",
        "demo-greeter", new Expectation.RequiredMethods(new TreeSet<>(List.of("SayHello", "SayHelloAgain"))),
        ServicePolicy.WhenNoneQualify.FAIL_CLOSED, ServicePolicy.WithoutReflection.TRUST_ADVERTISED, List.of())));
    new SnapshotPublisher(cache, new SnapshotBuilder("127.0.0.1", 15001))
        .publish(RoutingDecider.decide(policies, registry.state(), Clock.systemUTC().instant()));
    channel = XdsClients.channel(xds.port(), "demo-greeter", "xds-serving-test");
  }

  @AfterAll
  static void stop() throws Exception {
    channel.shutdownNow();
    xds.close();
    for (LoopbackServer server : List.of(v1, v2a, v2b)) {
      server.close();
    }
  }

  @Test
  void alternatingCallsNeverReachTheBuildMissingTheMethod() {
    await().atMost(Duration.ofSeconds(20)).until(() ->
        AlternatingCaller.run(channel, 2, 5_000).count(Status.Code.OK) == 2);

    AlternatingCaller.Counts counts = AlternatingCaller.run(channel, 200, 5_000);

    assertThat(counts.count(Status.Code.UNIMPLEMENTED)).isZero();
    assertThat(counts.count(Status.Code.OK)).isEqualTo(200);
  }
}
