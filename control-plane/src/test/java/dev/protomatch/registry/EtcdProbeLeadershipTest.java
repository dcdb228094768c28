package dev.protomatch.registry;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.protomatch.testing.EtcdProcess;
import dev.protomatch.testing.TcpProxy;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.UUID;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** {@link ProbeLeadership} against a real etcd: one prober among the replicas, and a new one when it goes. */
class EtcdProbeLeadershipTest {
  private static final Duration TTL = Duration.ofSeconds(2);
  private static final Duration WAIT = Duration.ofSeconds(15);

  private static EtcdProcess etcd;

  private final String prefix = "/protomatch-leader-test-" + UUID.randomUUID() + "/";
  private final List<AutoCloseable> toClose = new ArrayList<>();

  @BeforeAll
  static void startEtcd() {
    etcd = EtcdProcess.startSingle();
  }

  @AfterAll
  static void stopEtcd() {
    etcd.close();
  }

  @AfterEach
  void closeAll() throws Exception {
    for (int i = toClose.size() - 1; i >= 0; i--) {
      toClose.get(i).close();
    }
  }

  @Test
  void exactlyOneReplicaProbesAndClosingHandsTheJobOver() {
    ProbeLeadership a = leadership(connect(etcd.url()), "replica-a");
    ProbeLeadership b = leadership(connect(etcd.url()), "replica-b");
    AtomicInteger bChanges = new AtomicInteger();
    b.addListener(bChanges::incrementAndGet);

    await().atMost(WAIT).until(() -> a.holder().isPresent() && b.holder().isPresent());
    assertThat(a.isLeader() ^ b.isLeader()).as("exactly one leader").isTrue();
    ProbeLeadership leader = a.isLeader() ? a : b;
    ProbeLeadership follower = leader == a ? b : a;
    assertThat(follower.holder()).isEqualTo(Optional.of(leader.replicaId()));

    leader.close();

    await().atMost(WAIT).until(follower::isLeader);
    assertThat(follower.holder()).isEqualTo(Optional.of(follower.replicaId()));
    assertThat(leader.isLeader()).isFalse();
  }

  @Test
  void aLeaderCutOffFromEtcdStopsProbingAndAnotherTakesOverAfterTheTtl() {
    try (TcpProxy link = TcpProxy.to(etcd.clientPort(0))) {
      ProbeLeadership a = leadership(connect("etcd://127.0.0.1:" + link.port()), "replica-a");
      await().atMost(WAIT).until(a::isLeader);
      ProbeLeadership b = leadership(connect(etcd.url()), "replica-b");
      await().atMost(WAIT).until(() -> b.holder().equals(Optional.of("replica-a")));
      assertThat(b.isLeader()).isFalse();

      link.cut();

      await().atMost(WAIT).until(() -> !a.isLeader() && b.isLeader());
      link.restore();
      await().atMost(WAIT).until(() -> a.holder().equals(Optional.of("replica-b")));
      assertThat(a.isLeader()).isFalse();
    }
  }

  private EtcdEndpointRegistry connect(String url) {
    EtcdEndpointRegistry registry = EtcdEndpointRegistry.connect(EtcdTarget.parse(url),
        new EtcdEndpointRegistry.Options(prefix, Duration.ofSeconds(1), Duration.ofSeconds(1)), Clock.systemUTC());
    toClose.add(registry);
    return registry;
  }

  private ProbeLeadership leadership(EtcdEndpointRegistry registry, String replicaId) {
    ProbeLeadership leadership = registry.startProbeLeadership(replicaId, TTL);
    toClose.add(leadership);
    return leadership;
  }
}
