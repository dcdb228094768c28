package dev.protomatch.probe;

import static org.assertj.core.api.Assertions.assertThat;

import dev.protomatch.descriptor.DescriptorHasher;
import dev.protomatch.policy.DataPlanePolicy;
import dev.protomatch.policy.Settings;
import dev.protomatch.registry.Advertisement;
import dev.protomatch.registry.EndpointAddress;
import dev.protomatch.registry.EndpointRegistration;
import dev.protomatch.registry.InMemoryEndpointRegistry;
import dev.protomatch.registry.Locality;
import dev.protomatch.registry.ProbeState;
import dev.protomatch.testing.DescriptorFixtures;
import dev.protomatch.testing.Fingerprints;
import dev.protomatch.testing.TestClock;
import dev.protomatch.testing.TestPki;
import io.grpc.Server;
import io.grpc.TlsServerCredentials;
import io.grpc.netty.shaded.io.grpc.netty.NettyServerBuilder;
import io.grpc.protobuf.services.ProtoReflectionServiceV1;
import java.net.InetSocketAddress;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** An endpoint whose service's policy sets upstream-tls is probed over TLS, trusting that CA. */
class TlsProbingTest {
  private final TestClock clock = TestClock.atEpochPlusOneDay();
  private final InMemoryEndpointRegistry registry = new InMemoryEndpointRegistry(clock);
  private final Settings.Probe settings = new Settings.Probe(Duration.ofSeconds(15), Duration.ofSeconds(5), 2,
      Duration.ofMinutes(5));
  private Server server;
  private ReflectionProber prober;

  @TempDir
  Path dir;

  @AfterEach
  void stop() throws InterruptedException {
    if (prober != null) {
      prober.close();
    }
    server.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
  }

  @Test
  void anEndpointServingTlsIsProbedOverTlsWithThePolicysCa() throws Exception {
    TestPki pki = TestPki.create(dir);
    EndpointAddress address = startTlsGreeter(pki);
    prober = new ReflectionProber(registry, new DescriptorHasher(), () -> settings,
        endpoint -> Optional.of(new DataPlanePolicy.UpstreamTls(pki.ca(), Optional.of("localhost"))), clock);

    assertThat(probe(address)).isInstanceOfSatisfying(ProbeState.Probed.class,
        probed -> assertThat(probed.services()).containsKey("demo.Greeter"));
  }

  @Test
  void probedInPlaintextTheSameEndpointFails() throws Exception {
    TestPki pki = TestPki.create(dir);
    EndpointAddress address = startTlsGreeter(pki);
    prober = new ReflectionProber(registry, new DescriptorHasher(), () -> settings, clock);

    assertThat(probe(address)).isInstanceOf(ProbeState.Failed.class);
  }

  @Test
  void aCaFileThatCannotBeReadFailsTheProbeInOneLine() throws Exception {
    TestPki pki = TestPki.create(dir);
    EndpointAddress address = startTlsGreeter(pki);
    Path missing = dir.resolve("missing-ca.pem");
    prober = new ReflectionProber(registry, new DescriptorHasher(), () -> settings,
        endpoint -> Optional.of(new DataPlanePolicy.UpstreamTls(missing, Optional.empty())), clock);

    assertThat(probe(address)).isInstanceOfSatisfying(ProbeState.Failed.class, failed ->
        assertThat(failed.message()).startsWith(address + ": cannot read upstream-tls ca-file '" + missing + "'"));
  }

  private EndpointAddress startTlsGreeter(TestPki pki) throws Exception {
    server = NettyServerBuilder.forAddress(new InetSocketAddress("127.0.0.1", 0),
            TlsServerCredentials.create(pki.serverCert().toFile(), pki.serverKey().toFile()))
        .addService(DescriptorFixtures.GREETER_V2.implementation().get())
        .addService(ProtoReflectionServiceV1.newInstance())
        .build().start();
    return new EndpointAddress("127.0.0.1", server.getPort());
  }

  private ProbeState probe(EndpointAddress address) throws Exception {
    registry.register(new EndpointRegistration(address, Locality.UNKNOWN, Map.of(), 1,
        List.of(new Advertisement("demo.Greeter", Optional.of(Fingerprints.greeterV2().api()), Optional.empty(),
            Optional.empty())), "test"), Duration.ofSeconds(30));
    prober.probeDue().get(30, TimeUnit.SECONDS);
    return registry.state().endpoints().get(address).probe();
  }
}
