package dev.protomatch.registry;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import ch.qos.logback.classic.Level;
import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.read.ListAppender;
import dev.protomatch.testing.EtcdProcess;
import io.etcd.jetcd.ByteSequence;
import io.etcd.jetcd.Client;
import java.nio.charset.StandardCharsets;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.UUID;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.slf4j.LoggerFactory;

/**
 * {@link ReplicaDirectory} against a real etcd: replicas see each other, flag a policy digest that differs
 * (once), clear it when the digests agree again, see a closed replica go at once, and never disturb the
 * registry's state or churn etcd's revision with keep-alives.
 */
class ReplicaDirectoryTest {
  private static final Duration TTL = Duration.ofSeconds(2);
  private static final Duration WAIT = Duration.ofSeconds(15);
  private static final String POLICY_A = "a".repeat(64);
  private static final String POLICY_B = "b".repeat(64);
  private static final Instant STARTED = Instant.parse("2026-11-25T22:00:00Z");

  private static EtcdProcess etcd;
  private static Client direct;

  private final String prefix = "/protomatch-replicas-test-" + UUID.randomUUID() + "/";
  private final List<AutoCloseable> toClose = new ArrayList<>();
  private final ListAppender<ILoggingEvent> logged = new ListAppender<>();
  private final Logger directoryLog = (Logger) LoggerFactory.getLogger(ReplicaDirectory.class);

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

  @BeforeEach
  void captureLog() {
    logged.start();
    directoryLog.addAppender(logged);
  }

  @AfterEach
  void closeAll() throws Exception {
    directoryLog.detachAppender(logged);
    for (int i = toClose.size() - 1; i >= 0; i--) {
      toClose.get(i).close();
    }
  }

  @Test
  void replicasWithDifferentPoliciesFlagEachOtherOnceUntilTheyAgree() throws Exception {
    AtomicReference<ReplicaRecord> aSelf = new AtomicReference<>(record("replica-a", POLICY_A, 1));
    AtomicReference<ReplicaRecord> bSelf = new AtomicReference<>(record("replica-b", POLICY_B, 1));
    ReplicaDirectory a = directory(connect(), aSelf);
    ReplicaDirectory b = directory(connect(), bSelf);

    await().atMost(WAIT).until(() -> a.policyMismatches() == 1 && b.policyMismatches() == 1);
    assertThat(a.peers()).containsExactly(bSelf.get());
    assertThat(b.peers()).containsExactly(aSelf.get());
    assertThat(mismatchWarnings()).containsExactlyInAnyOrder(
        "replica replica-b runs another policy than replica-a", "replica replica-a runs another policy than replica-b");

    // A third replica, on a's policy: a looks at b again (a change of peers) but says nothing new about it.
    ReplicaDirectory c = directory(connect(), new AtomicReference<>(record("replica-c", POLICY_A, 1)));
    await().atMost(WAIT).until(() -> a.peers().size() == 2 && b.policyMismatches() == 2 && c.policyMismatches() == 1);
    Thread.sleep(TTL.toMillis()); // several keep-alives, which compare nothing and write nothing
    assertThat(a.policyMismatches()).isEqualTo(1);
    assertThat(mismatchWarnings()).containsExactlyInAnyOrder(
        "replica replica-b runs another policy than replica-a", "replica replica-a runs another policy than replica-b",
        "replica replica-c runs another policy than replica-b", "replica replica-b runs another policy than replica-c");

    bSelf.set(record("replica-b", POLICY_A, 2));
    b.selfChanged();

    await().atMost(WAIT).until(() -> a.policyMismatches() == 0 && b.policyMismatches() == 0
        && c.policyMismatches() == 0);
    assertThat(a.peers()).contains(bSelf.get());
    assertThat(infos()).anySatisfy(line -> assertThat(line).contains("replica replica-b runs the same policy"));
    assertThat(mismatchWarnings()).hasSize(4);
  }

  @Test
  void aReplicaThatClosesLeavesThePeerListAtOnce() {
    ReplicaDirectory a = directory(connect(), new AtomicReference<>(record("replica-a", POLICY_A, 1)));
    ReplicaDirectory b = directory(connect(), new AtomicReference<>(record("replica-b", POLICY_B, 1)));
    await().atMost(WAIT).until(() -> a.peers().size() == 1 && a.policyMismatches() == 1);

    b.close();

    // Well before the TTL would let it expire: the lease is revoked.
    await().atMost(Duration.ofMillis(TTL.toMillis() - 500)).until(() -> a.peers().isEmpty());
    assertThat(a.policyMismatches()).isZero();
  }

  @Test
  void theDirectoryNeitherChangesRegistryStateNorChurnsEtcdsRevision() throws Exception {
    EtcdEndpointRegistry registry = connect();
    AtomicInteger notified = new AtomicInteger();
    registry.addListener(notified::incrementAndGet);
    long version = registry.state().version();

    AtomicReference<ReplicaRecord> aSelf = new AtomicReference<>(record("replica-a", POLICY_A, 1));
    ReplicaDirectory a = directory(registry, aSelf);
    ReplicaDirectory b = directory(connect(), new AtomicReference<>(record("replica-b", POLICY_B, 1)));
    await().atMost(WAIT).until(() -> a.peers().size() == 1 && b.peers().size() == 1);
    aSelf.set(record("replica-a", POLICY_B, 2));
    a.selfChanged();
    await().atMost(WAIT).until(() -> b.policyMismatches() == 0);

    long settled = revision();
    Thread.sleep(TTL.toMillis() + 500); // keep-alives of both leases, none of which may write
    assertThat(revision()).as("etcd revision after keep-alives").isEqualTo(settled);

    b.close();
    long afterClose = revision();
    assertThat(afterClose).as("revoking b's lease deleted its record").isGreaterThan(settled);
    await().atMost(WAIT).until(() -> registry.appliedRevision() >= afterClose);
    assertThat(registry.state().version()).isEqualTo(version);
    assertThat(notified).hasValue(0);
  }

  private EtcdEndpointRegistry connect() {
    EtcdEndpointRegistry registry = EtcdEndpointRegistry.connect(EtcdTarget.parse(etcd.url()),
        new EtcdEndpointRegistry.Options(prefix, Duration.ofSeconds(5), Duration.ofSeconds(1)), Clock.systemUTC());
    toClose.add(registry);
    return registry;
  }

  private ReplicaDirectory directory(EtcdEndpointRegistry registry, AtomicReference<ReplicaRecord> self) {
    ReplicaDirectory directory = registry.startReplicaDirectory(self::get, TTL);
    toClose.add(directory);
    return directory;
  }

  private static ReplicaRecord record(String id, String sha256, long version) {
    return new ReplicaRecord(id, sha256, version, STARTED, Optional.of("127.0.0.1:18000"), Optional.empty());
  }

  /** Each mismatch WARN as "replica PEER runs another policy than SELF". */
  private List<String> mismatchWarnings() {
    return logged.list.stream().filter(e -> e.getLevel() == Level.WARN)
        .map(ILoggingEvent::getFormattedMessage).filter(m -> m.contains("runs another policy"))
        .map(m -> m.replaceAll("^(replica \\S+ runs another policy) \\(.*\\) than this replica (\\S+) .*$", "$1 than $2"))
        .toList();
  }

  private List<String> infos() {
    return logged.list.stream().filter(e -> e.getLevel() == Level.INFO).map(ILoggingEvent::getFormattedMessage).toList();
  }

  private static long revision() throws Exception {
    return direct.getKVClient().get(ByteSequence.from("/", StandardCharsets.UTF_8)).get(5, TimeUnit.SECONDS)
        .getHeader().getRevision();
  }
}
