package dev.protomatch.registry;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import dev.protomatch.descriptor.ServiceFingerprint;
import dev.protomatch.probe.ReflectionException;
import dev.protomatch.probe.ReflectionProtocol;
import dev.protomatch.testing.EtcdProcess;
import dev.protomatch.testing.Fingerprints;
import dev.protomatch.testing.TcpProxy;
import io.etcd.jetcd.ByteSequence;
import io.etcd.jetcd.Client;
import java.nio.charset.StandardCharsets;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.UUID;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * {@link EtcdEndpointRegistry} against a real etcd ({@link EtcdProcess}). Each test works under its own key
 * prefix, so tests share one etcd; the outage test has an etcd of its own.
 */
class EtcdEndpointRegistryTest {
  private static final Duration TTL = Duration.ofSeconds(30);
  private static final Duration WAIT = Duration.ofSeconds(15);
  private static final EndpointAddress X = new EndpointAddress("127.0.0.1", 50051);
  private static final EndpointAddress Y = new EndpointAddress("127.0.0.2", 50052);
  private static final Instant PROBED_AT = Instant.parse("2026-11-25T21:00:00.5Z");

  private static EtcdProcess etcd;
  private static Client direct;

  private final Clock clock = Clock.systemUTC();
  private final String prefix = "/protomatch-test-" + UUID.randomUUID() + "/";
  private final List<AutoCloseable> toClose = new ArrayList<>();

  @BeforeAll
  static void startEtcd() {
    etcd = EtcdProcess.startSingle();
    direct = Client.builder().endpoints("http://127.0.0.1:" + etcd.clientPort(0)).build();
  }

  @AfterAll
  static void stopEtcd() {
    direct.close();
    etcd.close();
  }

  @AfterEach
  void closeRegistries() throws Exception {
    for (AutoCloseable closeable : toClose) {
      closeable.close();
    }
  }

  @Test
  void registerRenewDeregister() {
    EtcdEndpointRegistry registry = connect(etcd.url());

    Lease lease = registry.register(registration(X, Advertisement.of(Fingerprints.greeterV1())), TTL);

    assertThat(Long.parseUnsignedLong(lease.id(), 16)).isPositive();
    assertThat(lease.ttl()).isEqualTo(TTL);
    EndpointState state = registry.state().endpoints().get(X); // read-your-writes: no waiting
    assertThat(state.source()).isEqualTo(EndpointSource.REGISTRATION);
    assertThat(state.generation()).isEqualTo(Long.parseUnsignedLong(lease.id(), 16));
    assertThat(state.lease().orElseThrow().id()).isEqualTo(lease.id());
    assertThat(state.lease().orElseThrow().expiresAt()).isEqualTo(EtcdEndpointRegistry.HELD_BY_ETCD);
    assertThat(state.leaseExpired(Instant.now().plus(Duration.ofDays(365)))).isFalse();
    assertThat(registry.isRegistered(X)).isTrue();
    assertThat(registry.countByClient("agent-1")).isEqualTo(1);

    Lease renewed = registry.renew(lease.id()).orElseThrow();
    assertThat(renewed.id()).isEqualTo(lease.id());
    assertThat(renewed.ttl()).isEqualTo(TTL);

    assertThat(registry.deregister(lease.id())).isTrue();
    assertThat(registry.state().endpoints()).isEmpty();
    assertThat(registry.countByClient("agent-1")).isZero();
    assertThat(registry.renew(lease.id())).isEmpty();
    assertThat(registry.deregister(lease.id())).isFalse();
    assertThat(registry.renew("not-a-lease")).isEmpty();
    assertThat(registry.removeExpired(Duration.ZERO)).isEmpty();
  }

  @Test
  void reRegistrationWithSameClaimsKeepsGenerationAndProbeOtherClaimsStartOver() {
    EtcdEndpointRegistry registry = connect(etcd.url());
    Lease first = registry.register(registration(X, Advertisement.of(Fingerprints.greeterV1())), TTL);
    long generation = registry.state().endpoints().get(X).generation();
    ProbeState probed = probed(Fingerprints.greeterV1());
    registry.recordProbe(X, generation, probed);
    assertThat(registry.state().endpoints().get(X).probe()).isEqualTo(probed);

    Lease second = registry.register(registration(X, Advertisement.of(Fingerprints.greeterV1())), TTL);

    assertThat(second.id()).isNotEqualTo(first.id());
    EndpointState same = registry.state().endpoints().get(X);
    assertThat(same.generation()).isEqualTo(generation);
    assertThat(same.probe()).isEqualTo(probed);
    assertThat(same.lease().orElseThrow().id()).isEqualTo(second.id());
    assertThat(registry.renew(first.id())).as("the replaced lease is revoked").isEmpty();

    registry.register(registration(X, Advertisement.of(Fingerprints.greeterV2())), TTL);

    EndpointState other = registry.state().endpoints().get(X);
    assertThat(other.generation()).isNotEqualTo(generation);
    assertThat(other.probe()).isEqualTo(ProbeState.NOT_PROBED);
  }

  @Test
  void etcdExpiresTheLeaseAndTheEndpointLeavesTheState() {
    EtcdEndpointRegistry registry = connect(etcd.url());
    AtomicInteger changes = new AtomicInteger();
    registry.addListener(changes::incrementAndGet);

    Lease lease = registry.register(registration(X, Advertisement.of(Fingerprints.greeterV1())), Duration.ofSeconds(1));
    registry.recordProbe(X, registry.state().endpoints().get(X).generation(), probed(Fingerprints.greeterV1()));
    int afterRegistering = changes.get();

    // etcd grants at least its minimum TTL: 1.5 election timeouts, rounded up (2 s with EtcdProcess's defaults).
    assertThat(lease.ttl()).isEqualTo(Duration.ofSeconds(2));
    await().atMost(WAIT).until(() -> registry.state().endpoints().isEmpty());
    assertThat(changes.get()).isGreaterThan(afterRegistering);
    assertThat(registry.renew(lease.id())).isEmpty();
    assertThat(get(prefix + "probes/" + X)).as("the probe record went with the lease").isNull();
  }

  @Test
  void twoReplicasSeeTheSameEndpointsGenerationsProbesAndRevision() {
    EtcdEndpointRegistry a = connect(etcd.url());
    EtcdEndpointRegistry b = connect(etcd.url());
    AtomicInteger bChanges = new AtomicInteger();
    b.addListener(bChanges::incrementAndGet);

    a.register(registration(X, Advertisement.of(Fingerprints.greeterV1())), TTL);
    b.register(registration(Y, Advertisement.of(Fingerprints.greeterV2())), TTL);
    a.recordProbe(X, a.state().endpoints().get(X).generation(), probed(Fingerprints.greeterV1()));
    b.recordProbe(Y, b.state().endpoints().get(Y).generation(), new ProbeState.Failed(PROBED_AT,
        ReflectionException.Kind.UNAVAILABLE, "connection refused", 2));

    await().atMost(WAIT).untilAsserted(() -> {
      assertThat(b.state().endpoints()).isEqualTo(a.state().endpoints());
      assertThat(b.appliedRevision()).isEqualTo(a.appliedRevision());
    });
    assertThat(a.state().endpoints()).containsOnlyKeys(X, Y);
    assertThat(b.state().endpoints().get(X).probe()).isEqualTo(probed(Fingerprints.greeterV1()));
    assertThat(bChanges.get()).isPositive();

    // A replica started later reads the same state at the same revision.
    EtcdEndpointRegistry c = connect(etcd.url());
    assertThat(c.state().endpoints()).isEqualTo(a.state().endpoints());

    // Writes outside the prefix move etcd's revision: progress notifications bring every replica there.
    long foreign = put("/elsewhere/" + UUID.randomUUID(), "x");
    await().atMost(WAIT).untilAsserted(() -> {
      assertThat(a.appliedRevision()).isGreaterThanOrEqualTo(foreign);
      assertThat(b.appliedRevision()).isEqualTo(a.appliedRevision());
      assertThat(c.appliedRevision()).isEqualTo(a.appliedRevision());
    });
  }

  @Test
  void probeForAStaleGenerationIsNotApplied() {
    EtcdEndpointRegistry a = connect(etcd.url());
    EtcdEndpointRegistry b = connect(etcd.url());
    a.register(registration(X, Advertisement.of(Fingerprints.greeterV1())), TTL);
    long stale = a.state().endpoints().get(X).generation();
    b.register(registration(X, Advertisement.of(Fingerprints.greeterV2())), TTL); // another process took X
    long current = b.state().endpoints().get(X).generation();
    assertThat(current).isNotEqualTo(stale);

    // b's write may not have reached a's cache yet: the etcd transaction still refuses the stale probe.
    a.recordProbe(X, stale, probed(Fingerprints.greeterV1()));

    assertThat(get(prefix + "probes/" + X)).isNull();
    await().atMost(WAIT).until(() -> a.state().endpoints().get(X).generation() == current);
    assertThat(a.state().endpoints().get(X).probe()).isEqualTo(ProbeState.NOT_PROBED);

    a.recordProbe(X, current, probed(Fingerprints.greeterV2()));
    assertThat(a.state().endpoints().get(X).probe()).isEqualTo(probed(Fingerprints.greeterV2()));
    await().atMost(WAIT).until(() -> b.state().endpoints().get(X).probe().equals(probed(Fingerprints.greeterV2())));
  }

  @Test
  void probeRacingAReRegistrationIsRefusedByEtcdEvenWhileTheCacheLags() {
    EtcdEndpointRegistry a = connect(etcd.url());
    Lease first = a.register(registration(X, Advertisement.of(Fingerprints.greeterV1())), TTL);
    long stale = a.state().endpoints().get(X).generation();
    long seenRevision = modRevision(prefix + "registrations/" + X);
    a.register(registration(X, Advertisement.of(Fingerprints.greeterV2())), TTL);

    // What recordProbe writes when its cache still shows the first registration (the watch has not said yet).
    boolean written = a.writeRegisteredProbe(X, stale, probed(Fingerprints.greeterV1()), seenRevision,
        Long.parseUnsignedLong(first.id(), 16));

    assertThat(written).isFalse();
    assertThat(get(prefix + "probes/" + X)).isNull();

    // Same claims re-registered meanwhile (same generation, new lease): the probe still belongs, and is written.
    long current = a.state().endpoints().get(X).generation();
    long currentRevision = modRevision(prefix + "registrations/" + X);
    Lease again = a.register(registration(X, Advertisement.of(Fingerprints.greeterV2())), TTL);
    assertThat(a.writeRegisteredProbe(X, current, probed(Fingerprints.greeterV2()), currentRevision,
        Long.parseUnsignedLong(first.id(), 16))).isTrue();
    assertThat(a.state().endpoints().get(X).probe()).isEqualTo(probed(Fingerprints.greeterV2()));
    assertThat(a.state().endpoints().get(X).lease().orElseThrow().id()).isEqualTo(again.id());
  }

  @Test
  void staticEndpointsStayLocalWithSharedGenerationsAndProbes() {
    EtcdEndpointRegistry a = connect(etcd.url());
    EtcdEndpointRegistry b = connect(etcd.url());
    Map<EndpointAddress, Set<String>> declared = Map.of(Y, Set.of("demo.Greeter"));
    a.replaceStaticEndpoints(declared);
    b.replaceStaticEndpoints(declared);
    EndpointState onA = a.state().endpoints().get(Y);
    assertThat(onA.source()).isEqualTo(EndpointSource.STATIC);
    assertThat(b.state().endpoints().get(Y).generation()).isEqualTo(onA.generation());
    assertThat(get(prefix + "registrations/" + Y)).as("static endpoints are not written to etcd").isNull();

    a.recordProbe(Y, onA.generation(), probed(Fingerprints.greeterV1()));

    await().atMost(WAIT).until(() -> b.state().endpoints().get(Y).probe().equals(probed(Fingerprints.greeterV1())));
    b.replaceStaticEndpoints(Map.of(Y, Set.of("demo.Greeter", "demo.Other")));
    assertThat(b.state().endpoints().get(Y).generation()).isNotEqualTo(onA.generation());
    assertThat(b.state().endpoints().get(Y).probe()).isEqualTo(ProbeState.NOT_PROBED);
    b.replaceStaticEndpoints(Map.of());
    assertThat(b.state().endpoints()).isEmpty();
  }

  @Test
  void etcdDownMutationsFailStateStaysAndWatchResumesAfterRestart() {
    try (EtcdProcess own = EtcdProcess.startSingle();
        EtcdEndpointRegistry a = connect(own.url());
        EtcdEndpointRegistry b = connect(own.url())) {
      a.register(registration(X, Advertisement.of(Fingerprints.greeterV1())), TTL);
      await().atMost(WAIT).until(() -> b.isRegistered(X));
      RegistryState before = b.state();

      own.stop(0);

      assertThatThrownBy(() -> a.register(registration(Y, Advertisement.of(Fingerprints.greeterV2())), TTL))
          .isInstanceOf(RegistryUnavailableException.class)
          .hasMessageStartingWith("etcd at 127.0.0.1:" + own.clientPort(0) + " unavailable: register " + Y);
      assertThat(a.state().endpoints()).containsOnlyKeys(X);
      assertThat(b.state()).isEqualTo(before);
      await().atMost(WAIT).until(() -> !b.connected());
      assertThat(a.connected()).isFalse();
      assertThat(a.lastError()).isPresent();

      own.restart(0);

      await().atMost(WAIT).until(() -> a.connected() && b.connected());
      b.register(registration(Y, Advertisement.of(Fingerprints.greeterV2())), TTL);
      await().atMost(WAIT).until(() -> a.isRegistered(Y));
      assertThat(a.state().endpoints()).containsOnlyKeys(X, Y);
      assertThat(a.state().endpoints()).isEqualTo(b.state().endpoints());
    }
  }

  @Test
  void killingOneMemberOfThreeLosesNothing() {
    // A cluster just started under load can take longer than 2 s to answer: these clients wait 5 s.
    try (EtcdProcess cluster = EtcdProcess.startCluster(3);
        EtcdEndpointRegistry a = connect(cluster.url(), Duration.ofSeconds(5));
        EtcdEndpointRegistry b = connect(cluster.url(2), Duration.ofSeconds(5))) {
      a.register(registration(X, Advertisement.of(Fingerprints.greeterV1())), TTL);
      await().atMost(WAIT).until(() -> b.isRegistered(X));

      cluster.kill(0);

      // If m0 led the cluster, writes wait for a new leader: like an agent, retry UNAVAILABLE.
      await().atMost(WAIT).ignoreException(RegistryUnavailableException.class).until(() -> {
        a.register(registration(Y, Advertisement.of(Fingerprints.greeterV2())), TTL);
        return true;
      });
      // a's own watch may still be reconnecting after the member it watched through died: wait for both.
      await().atMost(WAIT).until(() -> a.isRegistered(Y) && b.isRegistered(Y));
      assertThat(b.state().endpoints()).isEqualTo(a.state().endpoints()).containsOnlyKeys(X, Y);

      cluster.restart(0);
      try (EtcdEndpointRegistry c = connect(cluster.url(0), Duration.ofSeconds(5))) {
        await().atMost(WAIT).untilAsserted(() -> assertThat(c.state().endpoints()).isEqualTo(a.state().endpoints()));
      }
    }
  }

  @Test
  void aReplicaBehindACompactionResyncsFully() throws Exception {
    try (TcpProxy link = TcpProxy.to(etcd.clientPort(0))) {
      EtcdEndpointRegistry a = connect(etcd.url());
      EtcdEndpointRegistry b = connect("etcd://127.0.0.1:" + link.port());
      AtomicInteger bChanges = new AtomicInteger();
      b.addListener(bChanges::incrementAndGet);
      Lease x = a.register(registration(X, Advertisement.of(Fingerprints.greeterV1())), TTL);
      await().atMost(WAIT).until(() -> b.isRegistered(X));

      link.cut();
      await().atMost(WAIT).until(() -> !b.connected());
      a.register(registration(Y, Advertisement.of(Fingerprints.greeterV2())), TTL);
      a.recordProbe(Y, a.state().endpoints().get(Y).generation(), probed(Fingerprints.greeterV2()));
      a.deregister(x.id());
      long revision = put("/elsewhere/" + UUID.randomUUID(), "x");
      direct.getKVClient().compact(revision).get(5, TimeUnit.SECONDS);
      int changesBefore = bChanges.get();
      link.restore();

      await().atMost(WAIT).untilAsserted(() -> {
        assertThat(b.health().resyncs()).isEqualTo(1);
        assertThat(b.state().endpoints()).isEqualTo(a.state().endpoints());
      });
      assertThat(b.state().endpoints()).containsOnlyKeys(Y);
      assertThat(b.state().endpoints().get(Y).probe()).isEqualTo(probed(Fingerprints.greeterV2()));
      await().atMost(WAIT).until(b::connected);
      assertThat(bChanges.get()).isGreaterThan(changesBefore);
    }
  }

  /**
   * etcd before the fix of etcd-io/etcd#15220 (Debian's 3.4.23 among them) answers a requested progress
   * notification with its current revision even while the watch still has events to send: a watch resumed behind
   * the head is overtaken by the progress notification. The events that follow must still be applied.
   */
  @Test
  void aWatchCatchingUpIsNotOvertakenByProgressNotifications() throws Exception {
    try (TcpProxy link = TcpProxy.to(etcd.clientPort(0))) {
      EtcdEndpointRegistry a = connect(etcd.url());
      EtcdEndpointRegistry b = EtcdEndpointRegistry.connect(EtcdTarget.parse("etcd://127.0.0.1:" + link.port()),
          new EtcdEndpointRegistry.Options(prefix, Duration.ofSeconds(2), Duration.ofMillis(5)), clock);
      toClose.add(b);

      link.cut();
      await().atMost(WAIT).until(() -> !b.connected());
      for (int i = 1; i <= 40; i++) {
        a.register(registration(new EndpointAddress("127.0.3." + i, 50051), Advertisement.of(Fingerprints.greeterV1())),
            TTL);
      }
      link.restore();

      await().atMost(WAIT).until(() -> b.appliedRevision() >= a.appliedRevision());
      await().atMost(WAIT).untilAsserted(() -> assertThat(b.state().endpoints()).hasSize(40));
      assertThat(b.state().endpoints()).isEqualTo(a.state().endpoints());
    }
  }

  @Test
  void tlsToEtcdWithTheCaFromTheUrl() {
    try (EtcdProcess secure = EtcdProcess.startSingleTls();
        EtcdEndpointRegistry a = connect(secure.url());
        EtcdEndpointRegistry b = connect(secure.url())) {
      assertThat(secure.url()).startsWith("etcds://127.0.0.1:").contains("?ca=");

      a.register(registration(X, Advertisement.of(Fingerprints.greeterV1())), TTL);

      await().atMost(WAIT).until(() -> b.isRegistered(X));
      assertThat(b.connected()).isTrue();
      // Without the CA the JVM's trust store refuses etcd's certificate: the certificate is checked.
      EtcdTarget untrusted = EtcdTarget.parse("etcds://127.0.0.1:" + secure.clientPort(0));
      assertThatThrownBy(() -> EtcdEndpointRegistry.connect(untrusted,
          new EtcdEndpointRegistry.Options(prefix, Duration.ofSeconds(1), Duration.ofSeconds(1)), clock))
          .isInstanceOf(RegistryUnavailableException.class);
    }
  }

  @Test
  void connectingToNoEtcdFailsWithOneLineNamingIt() throws Exception {
    int port;
    try (java.net.ServerSocket socket = new java.net.ServerSocket(0)) {
      port = socket.getLocalPort();
    }
    EtcdTarget target = EtcdTarget.parse("etcd://127.0.0.1:" + port);
    assertThatThrownBy(() -> EtcdEndpointRegistry.connect(target,
        new EtcdEndpointRegistry.Options(prefix, Duration.ofSeconds(1), Duration.ofSeconds(1)), clock))
        .isInstanceOf(RegistryUnavailableException.class)
        .hasMessage("etcd at 127.0.0.1:" + port + " unavailable: initial read: no answer within 1000 ms");
  }

  /** A registry under this test's prefix, closed after the test (closing twice is harmless). */
  private EtcdEndpointRegistry connect(String url) {
    return connect(url, Duration.ofSeconds(2));
  }

  private EtcdEndpointRegistry connect(String url, Duration timeout) {
    EtcdEndpointRegistry registry = EtcdEndpointRegistry.connect(EtcdTarget.parse(url),
        new EtcdEndpointRegistry.Options(prefix, timeout, Duration.ofMillis(200)), clock);
    toClose.add(registry);
    return registry;
  }

  private static ProbeState probed(ServiceFingerprint fingerprint) {
    return new ProbeState.Probed(PROBED_AT, ReflectionProtocol.V1, new TreeMap<>(Map.of(fingerprint.service(), fingerprint)));
  }

  private static EndpointRegistration registration(EndpointAddress address, Advertisement... services) {
    return new EndpointRegistration(address, new Locality("eu", "eu-1a", ""), Map.of("track", "stable"), 3,
        List.of(services), "agent-1");
  }

  private static String get(String key) {
    try {
      var kvs = direct.getKVClient().get(ByteSequence.from(key, StandardCharsets.UTF_8)).get(5, TimeUnit.SECONDS)
          .getKvs();
      return kvs.isEmpty() ? null : kvs.get(0).getValue().toString(StandardCharsets.UTF_8);
    } catch (Exception e) {
      throw new IllegalStateException(e);
    }
  }

  private static long modRevision(String key) {
    try {
      return direct.getKVClient().get(ByteSequence.from(key, StandardCharsets.UTF_8)).get(5, TimeUnit.SECONDS)
          .getKvs().get(0).getModRevision();
    } catch (Exception e) {
      throw new IllegalStateException(e);
    }
  }

  private static long put(String key, String value) {
    try {
      return direct.getKVClient().put(ByteSequence.from(key, StandardCharsets.UTF_8),
          ByteSequence.from(value, StandardCharsets.UTF_8)).get(5, TimeUnit.SECONDS).getHeader().getRevision();
    } catch (Exception e) {
      throw new IllegalStateException(e);
    }
  }
}
