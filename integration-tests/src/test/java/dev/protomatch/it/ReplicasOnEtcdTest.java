package dev.protomatch.it;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowableOfType;
import static org.awaitility.Awaitility.await;

import dev.protomatch.demo.AlternatingCaller;
import dev.protomatch.demo.ProtomatchProcess;
import dev.protomatch.testing.EtcdProcess;
import io.grpc.Grpc;
import io.grpc.InsecureChannelCredentials;
import io.grpc.ManagedChannel;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.xds.XdsNameResolverProvider;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.stream.Collectors;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestMethodOrder;

/**
 * Issue 9 with real parts on loopback: a 3-member etcd cluster, two protomatch replicas ({@code protomatch
 * serve --registry etcd://m0,m1,m2 --replica-id ...}, each its own process, default warm-up), demo.Greeter v3
 * processes registering with one replica each, grpc-java xDS clients in this JVM whose bootstraps list both
 * replicas (each its own primary; grpc-java 1.75 has gRFC A71 fallback on by default,
 * GRPC_EXPERIMENTAL_XDS_FALLBACK unset) and a grpc-js-xds client process (node-client/chaos.js). grpc-js-xds
 * 1.14.1 (the lockfile's) reads only the first of {@code xds_servers} (xds-client.js: {@code xdsServers[0]}),
 * so its bootstrap lists both but it stays on the first.
 *
 * <p>The steps run in order on one fleet: registrations through either replica reach clients of both; a
 * replica killed with SIGKILL under continuous traffic and started again (its first push is etcd's state,
 * byte for byte the other replica's, for proxyless and Envoy nodes); one etcd member killed; the whole etcd
 * cluster stopped for 20 s; the probe leader killed. Asserted: no UNIMPLEMENTED ever, no call failing while
 * etcd is down or loses a member, registrations during the outage UNAVAILABLE and accepted on retry,
 * nothing registered lost, replicas' resources byte-equal, the surviving replica taking over probing.
 * Measured and reported (target/reports/issue9-replicas.txt, lines "issue9: ..."): start-up times (process
 * start, etcd read and first snapshot from the replica's log, /readyz), failure windows, how long clients
 * of a killed replica stay on their cache, the fallback time of a new client, recovery after etcd's outage,
 * the probing gap after the leader's kill, and the probe load on one endpoint with 1 and with 2 replicas.
 * Nothing timed is asserted.
 *
 * <p>A note on "fails over": per gRFC A71 a grpc-java client whose resources are cached keeps using them
 * while its primary is down and does not switch to the fallback server; only resources it does not have
 * yet are fetched from the fallback. So the client of the killed replica calls on its cached assignment
 * (measured: its failed calls, and when it learns of a registration made meanwhile: only after it has
 * reconnected to the restarted replica, after its own retry back-off), and a client started while the
 * replica is down is served by the other replica (measured: time to its first OK call).
 */
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class ReplicasOnEtcdTest {
  private static final String REPORT = "issue9-replicas";
  private static final String POLICY = """
      settings:
        auth:
          insecure: true
        lease:
          default-ttl: 10s
          min-ttl: 1s
        probe:
          interval: 2s
          timeout: 2s
      services:
        - service: demo.Greeter
          cluster: demo-greeter
          expect: newest
      """;
  private static final Duration READY_TIMEOUT = Duration.ofSeconds(60);
  private static final Duration PROBE_WINDOW = Duration.ofSeconds(8);
  private static final Duration ETCD_OUTAGE = Duration.ofSeconds(20);
  private static final AtomicInteger SCHEMES = new AtomicInteger();

  private static Path root;
  private static Path work;
  private static EtcdProcess etcd;
  private static ReplicaProcess a;
  private static ReplicaProcess b;
  private static ProbeCountingGreeter probed;
  private static final List<ProtomatchProcess> greeters = new ArrayList<>();
  private static final List<ManagedChannel> channels = new ArrayList<>();
  private static ManagedChannel clientOfA;
  private static ManagedChannel clientOfB;
  private static TrafficRecorder trafficOfA;
  private static TrafficRecorder trafficOfB;
  private static ProtomatchProcess g1;
  private static ProtomatchProcess g2;
  private static ProtomatchProcess g3;
  private static ChaosClientProcess nodeOfB;
  /** Servers registered directly during the etcd steps; they live until the end so no decision changes under a check. */
  private static final List<ProbeCountingGreeter> laterServers = new ArrayList<>();

  @BeforeAll
  static void startFleet() throws Exception {
    root = Path.of(System.getProperty("protomatch.root", "..")).toAbsolutePath().normalize();
    NodeClientDirectory.prepare(root, "ReplicasOnEtcdTest");
    work = Files.createTempDirectory("protomatch-issue9-");
    Path policy = Files.writeString(work.resolve("policies.yaml"), POLICY);
    etcd = EtcdProcess.startCluster(3);
    a = new ReplicaProcess("replica-a", etcd.url(), policy, work.resolve("replica-a.log"));
    b = new ReplicaProcess("replica-b", etcd.url(), policy, work.resolve("replica-b.log"));
    a.start();
    report("replica a (empty etcd): " + startup(a, a.awaitReady(READY_TIMEOUT)));

    probed = new ProbeCountingGreeter("probed");
    probed.register(a.registrationPort(), Duration.ofMinutes(5));
    g1 = startGreeter("g1", a);
    await().atMost(Duration.ofSeconds(20)).until(() -> probed.reflectionCalls() > 0);
    long oneReplica = reflectionCallsOver(PROBE_WINDOW);

    b.start();
    report("replica b (etcd holds 2 endpoints): " + startup(b, b.awaitReady(READY_TIMEOUT)));
    long twoReplicas = reflectionCallsOver(PROBE_WINDOW);
    report("probe load on one endpoint (probe interval 2 s): " + oneReplica + " reflection calls in "
        + PROBE_WINDOW.toSeconds() + " s with 1 replica, " + twoReplicas + " with 2 replicas (one probe leader)");
  }

  @AfterAll
  static void stopFleet() throws Exception {
    for (TrafficRecorder traffic : new TrafficRecorder[] {trafficOfA, trafficOfB}) {
      if (traffic != null) {
        traffic.stop();
      }
    }
    channels.forEach(ManagedChannel::shutdownNow);
    if (nodeOfB != null) {
      nodeOfB.close();
    }
    greeters.forEach(ProtomatchProcess::close);
    if (probed != null) {
      probed.close();
    }
    for (ProbeCountingGreeter server : laterServers) {
      server.close();
    }
    for (ReplicaProcess replica : new ReplicaProcess[] {a, b}) {
      if (replica != null) {
        replica.close();
      }
    }
    if (etcd != null) {
      etcd.close();
    }
  }

  @Test
  @Order(1)
  void registrationsSentToOneReplicaReachClientsOfBoth() throws Exception {
    clientOfA = javaClient("issue9-java-a", a, b);
    clientOfB = javaClient("issue9-java-b", b, a);
    awaitFirstOk(clientOfA);
    awaitFirstOk(clientOfB);
    trafficOfA = new TrafficRecorder(clientOfA, Duration.ofMillis(10));
    trafficOfB = new TrafficRecorder(clientOfB, Duration.ofMillis(10));

    // g1 registered with replica a only; replica b's clients call it.
    await().atMost(Duration.ofSeconds(30)).until(() -> trafficOfB.answeredBy("g1") > 0);
    // So far only endpoints registered with a exist: the grpc-js-xds client of b getting ready proves the same.
    long nodeStart = System.nanoTime();
    nodeOfB = nodeClient("issue9-node-b", b, a);
    nodeOfB.awaitReady(READY_TIMEOUT);
    report("grpc-js-xds client of replica b (only endpoints registered with a exist): start -> first OK "
        + millisSince(nodeStart) + " ms");

    long registered = System.nanoTime();
    g2 = startGreeter("g2", b);
    await().atMost(Duration.ofSeconds(30)).until(() -> trafficOfA.answeredBy("g2") > 0);
    report("greeter g2 registering with replica b: process start -> first call answered by g2 on a client of replica a "
        + millisSince(registered) + " ms");

    Set<Integer> expected = Set.of(probed.port(), g1.port(), g2.port());
    await().atMost(Duration.ofSeconds(20)).untilAsserted(() -> {
      XdsDump fromA = XdsDump.fetch(a.xdsPort());
      assertThat(fromA.assignedPorts()).isEqualTo(expected);
      assertThat(XdsDump.fetch(b.xdsPort()).resources()).isEqualTo(fromA.resources());
    });
  }

  @Test
  @Order(2)
  void aReplicaKilledUnderTrafficAndRestartedPublishesEtcdsStateByteForByte() throws Exception {
    Thread.sleep(500);
    long killed = System.nanoTime();
    b.kill();

    // A client that starts now, its primary (b) down: A71 fallback fetches everything from a.
    long fresh = System.nanoTime();
    ManagedChannel newcomer = javaClient("issue9-java-newcomer", b, a);
    awaitFirstOk(newcomer);
    report("grpc-java client started while its primary replica is down (bootstrap [b, a]): first OK call after "
        + millisSince(fresh) + " ms (A71 fallback to a)");
    // A registration with a while b is down: a's clients get it; b's client has all its resources cached, so per
    // A71 it stays on them (no fallback) and learns of g3 only when b is back.
    long g3Started = System.nanoTime();
    g3 = startGreeter("g3", a);
    await().atMost(Duration.ofSeconds(30)).until(() -> trafficOfA.answeredBy("g3") > 0);
    long g3OnA = millisSince(g3Started);
    long g3OnBWhileDown = trafficOfB.answeredBy("g3");
    Thread.sleep(Math.max(0, 3_000 - millisSince(killed)));

    b.start();
    Duration ready = b.awaitReady(READY_TIMEOUT);
    XdsDump firstOfB = XdsDump.fetch(b.xdsPort());
    XdsDump ofA = XdsDump.fetch(a.xdsPort());
    long downMillis = (System.nanoTime() - killed) / 1_000_000 - ready.toMillis();
    report("replica b restarted after " + downMillis + " ms down: " + startup(b, ready) + "; its first ADS dump right after: " + firstOfB.resources().size()
        + " resources and versions, assigned ports " + firstOfB.assignedPorts() + " (g2, registered with b, "
        + (firstOfB.assignedPorts().contains(g2.port()) ? "still there" : "lapsed: its agent could not renew its 10 s lease while b was down, and registers again with b")
        + "), byte-equal to a's: " + firstOfB.resources().equals(ofA.resources()) + " (versions " + versions(firstOfB) + ")");
    // b's first push comes from etcd's state: everything registered with a, which lived all along, is in it.
    assertThat(firstOfB.assignedPorts()).as("b's first push").contains(probed.port(), g1.port(), g3.port());
    long restarted = System.nanoTime();
    Set<Integer> expected = Set.of(probed.port(), g1.port(), g2.port(), g3.port());
    await().atMost(Duration.ofSeconds(30)).untilAsserted(() -> {
      XdsDump fromB = XdsDump.fetch(b.xdsPort());
      assertThat(fromB.assignedPorts()).isEqualTo(expected);
      assertThat(fromB.resources()).isEqualTo(XdsDump.fetch(a.xdsPort()).resources());
      assertThat(XdsDump.fetch(b.xdsPort(), "envoy").resources()).as("what Envoy sidecars get")
          .isEqualTo(XdsDump.fetch(a.xdsPort(), "envoy").resources());
    });
    report("replica b restarted: a and b publish the same bytes (proxyless and Envoy) for all " + expected.size()
        + " endpoints " + millisSince(restarted) + " ms after b's first dump");
    // b's client reconnects to b after its own ADS retry back-off, then learns of g3.
    await().atMost(Duration.ofSeconds(60)).until(() -> trafficOfB.answeredBy("g3") > 0);
    report("greeter g3 registering with a while b was down: first call answered by g3 on a client of a "
        + g3OnA + " ms after g3's start; calls of b's client (bootstrap [b, a]) answered by g3 while b was down: "
        + g3OnBWhileDown + "; b's client called g3 " + millisSince(restarted) + " ms after b's first dump ("
        + ((System.nanoTime() - killed) / 1_000_000) + " ms after b's kill)");

    Thread.sleep(2_000); // b's clients reconnect to it
    long stopped = System.nanoTime();
    nodeOfB.requestStop();
    ClientReport node = nodeOfB.awaitReport(Duration.ofSeconds(30));
    nodeOfB = null;
    List<TrafficRecorder.Call> ofClientA = between(trafficOfA, killed - 500_000_000L, stopped);
    List<TrafficRecorder.Call> ofClientB = between(trafficOfB, killed - 500_000_000L, stopped);
    report("kill -9 of replica b under traffic until it was back: grpc-java client of b (bootstrap [b, a]) "
        + describe(ofClientB) + "; grpc-java client of a " + describe(ofClientA));
    report("kill -9 of replica b: grpc-js-xds client of b (whole run since step 1) " + node.calls() + " calls, "
        + (node.calls() - node.total("OK")) + " failed, UNIMPLEMENTED " + node.total("UNIMPLEMENTED")
        + ", longest UNAVAILABLE window " + node.longestOutageMs() + " ms");
    assertThat(TrafficRecorder.countByCode(ofClientB, null)).doesNotContainKey(Status.Code.UNIMPLEMENTED);
    assertThat(TrafficRecorder.countByCode(ofClientA, null)).doesNotContainKey(Status.Code.UNIMPLEMENTED);
    assertThat(node.total("UNIMPLEMENTED")).isZero();
    assertThat(ofClientB).anyMatch(call -> call.code() == Status.Code.OK);
  }

  @Test
  @Order(3)
  void killingOneEtcdMemberLosesNothing() throws Exception {
    Set<Integer> before = Set.of(probed.port(), g1.port(), g2.port(), g3.port());
    long memberKilled = System.nanoTime();
    etcd.kill(0);
    Thread.sleep(2_000);
    // Stays up to the end: an endpoint going away would change the decision under the outage's checks.
    ProbeCountingGreeter duringMemberLoss = new ProbeCountingGreeter("during-member-loss");
    laterServers.add(duringMemberLoss);
    long attempt = System.nanoTime();
    int attempts = registerUntilAccepted(duringMemberLoss, a, Duration.ofSeconds(30));
    report("etcd member m0 killed (kill -9): a registration with replica a accepted after " + millisSince(attempt)
        + " ms (" + attempts + " attempts)");
    Set<Integer> all = union(before, duringMemberLoss.port());
    await().atMost(Duration.ofSeconds(20)).untilAsserted(() -> {
      XdsDump fromA = XdsDump.fetch(a.xdsPort());
      assertThat(fromA.assignedPorts()).as("registered before and during the member's loss").isEqualTo(all);
      assertThat(XdsDump.fetch(b.xdsPort()).resources()).isEqualTo(fromA.resources());
    });
    etcd.restart(0);
    long now = System.nanoTime();
    List<TrafficRecorder.Call> memberLoss = between(trafficOfA, memberKilled, now);
    memberLoss.addAll(between(trafficOfB, memberKilled, now));
    report("etcd member m0 killed, then restarted " + (now - memberKilled) / 1_000_000
        + " ms later: java clients of a and b " + describe(memberLoss));
    assertThat(memberLoss).isNotEmpty().allMatch(call -> call.code() == Status.Code.OK);
  }

  @Test
  @Order(4)
  void withAllEtcdMembersStoppedClientsKeepCallingAndRegistrationsAreRetryable() throws Exception {
    Set<Integer> before = XdsDump.fetch(a.xdsPort()).assignedPorts();
    ChaosClientProcess node = nodeClient("issue9-node-a", a, b);
    try {
      node.awaitReady(READY_TIMEOUT);
      XdsDump lastBeforeOutage = XdsDump.fetch(a.xdsPort());
      long outage = System.nanoTime();
      for (int member = 0; member < etcd.size(); member++) {
        etcd.stop(member);
      }
      // Before any registration attempt: how long until the replicas notice by themselves.
      await().atMost(Duration.ofSeconds(15)).pollInterval(Duration.ofMillis(50))
          .until(() -> a.readyz().startsWith("503 not ready: etcd unreachable")
              && b.readyz().startsWith("503 not ready: etcd unreachable"));
      report("etcd down: both replicas' /readyz say '" + a.readyz() + "' " + millisSince(outage)
          + " ms after the stop began");
      ProbeCountingGreeter late = new ProbeCountingGreeter("late");
      laterServers.add(late);
      long call = System.nanoTime();
      StatusRuntimeException refused = catchThrowableOfType(StatusRuntimeException.class,
          () -> late.register(a.registrationPort(), Duration.ofMinutes(5)));
      report("etcd down: a registration with replica a answered " + (refused == null ? "OK" : refused.getStatus().getCode())
          + " after " + millisSince(call) + " ms");
      assertThat(refused).as("registration while etcd is down").isNotNull();
      assertThat(refused.getStatus().getCode()).isEqualTo(Status.Code.UNAVAILABLE);
      // The same with the deadline protomatch's RegistrationAgent puts on Register (5 s): what agents see.
      call = System.nanoTime();
      StatusRuntimeException agentSees = catchThrowableOfType(StatusRuntimeException.class,
          () -> late.register(a.registrationPort(), Duration.ofMinutes(5), Duration.ofSeconds(5)));
      report("etcd down: the same registration with RegistrationAgent's 5 s deadline answered "
          + (agentSees == null ? "OK" : agentSees.getStatus().getCode()) + " after " + millisSince(call) + " ms");
      assertThat(agentSees).as("registration while etcd is down").isNotNull();
      assertThat(XdsDump.fetch(a.xdsPort()).resources()).as("a keeps its last decision").isEqualTo(lastBeforeOutage.resources());
      assertThat(XdsDump.fetch(b.xdsPort()).resources()).as("b keeps its last decision").isEqualTo(lastBeforeOutage.resources());
      Thread.sleep(Math.max(0, ETCD_OUTAGE.toMillis() - millisSince(outage)));

      long restart = System.nanoTime();
      restartAllMembers();
      long back = System.nanoTime();
      int attempts = registerUntilAccepted(late, a, Duration.ofSeconds(60));
      long accepted = millisSince(back);
      Duration readyA = awaitReadyAgain(a, back);
      Duration readyB = awaitReadyAgain(b, back);
      report("etcd down " + (restart - outage) / 1_000_000 + " ms, members restarted (healthy after "
          + (back - restart) / 1_000_000 + " ms): the refused registration accepted on retry " + accepted
          + " ms after etcd was healthy (" + attempts + " attempts); /readyz 200 again after " + readyA.toMillis()
          + " ms (a), " + readyB.toMillis() + " ms (b)");

      Set<Integer> all = union(before, late.port());
      await().atMost(Duration.ofSeconds(20)).untilAsserted(() -> {
        XdsDump fromA = XdsDump.fetch(a.xdsPort());
        assertThat(fromA.assignedPorts()).as("nothing registered before the outage is lost").isEqualTo(all);
        assertThat(XdsDump.fetch(b.xdsPort()).resources()).isEqualTo(fromA.resources());
      });

      List<TrafficRecorder.Call> duringOutage = between(trafficOfA, outage, back);
      duringOutage.addAll(between(trafficOfB, outage, back));
      Thread.sleep(1_000);
      node.requestStop();
      ClientReport nodeReport = node.awaitReport(Duration.ofSeconds(30));
      long now = System.nanoTime();
      List<TrafficRecorder.Call> afterwards = between(trafficOfA, back, now);
      afterwards.addAll(between(trafficOfB, back, now));
      report("all etcd members stopped " + ETCD_OUTAGE.toSeconds() + " s: java clients of a and b during the outage "
          + describe(duringOutage) + "; after etcd came back " + describe(afterwards)
          + "; grpc-js-xds client of a (bootstrap [a, b]) over the whole step: " + nodeReport.calls() + " calls, "
          + (nodeReport.calls() - nodeReport.total("OK")) + " failed, UNIMPLEMENTED " + nodeReport.total("UNIMPLEMENTED")
          + ", longest UNAVAILABLE window " + nodeReport.longestOutageMs() + " ms");
      assertThat(duringOutage).isNotEmpty().allMatch(c -> c.code() == Status.Code.OK);
      assertThat(TrafficRecorder.countByCode(afterwards, null)).doesNotContainKey(Status.Code.UNIMPLEMENTED);
      assertThat(nodeReport.total("UNIMPLEMENTED")).isZero();
    } finally {
      node.close();
    }
  }

  @Test
  @Order(5)
  void killingTheProbeLeaderMovesProbingToTheOtherReplica() throws Exception {
    await().atMost(Duration.ofSeconds(30)).until(() -> isProbeLeader(a) != isProbeLeader(b));
    ReplicaProcess leader = isProbeLeader(a) ? a : b;
    ReplicaProcess other = leader == a ? b : a;
    TrafficRecorder onLeader = leader == a ? trafficOfA : trafficOfB;
    long seen = probed.reflectionCalls();
    await().atMost(Duration.ofSeconds(20)).until(() -> probed.reflectionCalls() > seen); // a fresh probe
    long countBefore = probed.reflectionCalls();
    long lastProbe = probed.lastCallNanos();

    long killed = System.nanoTime();
    leader.kill();
    await().atMost(Duration.ofSeconds(60)).pollInterval(Duration.ofMillis(20))
        .until(() -> probed.reflectionCalls() > countBefore);
    long resumed = System.nanoTime();
    Thread.sleep(1_000);
    List<TrafficRecorder.Call> calls = between(onLeader, killed, System.nanoTime());
    report("kill -9 of the probe leader " + leader.id() + " (leadership TTL 10 s): probing of one endpoint resumed by "
        + other.id() + " " + (resumed - killed) / 1_000_000 + " ms after the kill (" + (resumed - lastProbe) / 1_000_000
        + " ms since the last probe); the grpc-java client of " + leader.id() + " meanwhile " + describe(calls));
    assertThat(isProbeLeader(other)).as(other.id() + " took over probing").isTrue();
    assertThat(TrafficRecorder.countByCode(calls, null)).doesNotContainKey(Status.Code.UNIMPLEMENTED);
  }

  // --- helpers ---

  /** Whether the replica's last probe-leadership log line of this run says it probes. */
  private static boolean isProbeLeader(ReplicaProcess replica) throws Exception {
    return replica.lastLogged("probe leadership: " + replica.id()).endsWith("starts probing");
  }

  private static void report(String line) {
    Reports.append(REPORT, "issue9: " + line);
  }

  private static ProtomatchProcess startGreeter(String instance, ReplicaProcess registerWith) throws Exception {
    ProtomatchProcess greeter = ProtomatchProcess.startServer(List.of("greeter", "--build", "v3", "--instance", instance,
            "--register", "127.0.0.1:" + registerWith.registrationPort(), "--ttl-seconds", "10"),
        Map.of(), work.resolve("greeters.log"), Duration.ofSeconds(60));
    greeters.add(greeter);
    return greeter;
  }

  /** Start-up times of the replica's current run: /readyz, and from its log, etcd read and first snapshot. */
  private static String startup(ReplicaProcess replica, Duration ready) throws Exception {
    return "process start -> etcd state read " + replica.loggedAfterStart("[EtcdEndpointRegistry] etcd registry at")
        + " ms -> first snapshot published " + replica.loggedAfterStart("first snapshot published")
        + " ms (log) -> /readyz 200 " + ready.toMillis() + " ms";
  }

  private static long reflectionCallsOver(Duration window) throws InterruptedException {
    long start = probed.reflectionCalls();
    Thread.sleep(window.toMillis());
    return probed.reflectionCalls() - start;
  }

  /** A grpc-java xDS channel to {@code xds:///demo-greeter} whose bootstrap lists {@code primary}, then {@code fallback}. */
  @SuppressWarnings("deprecation") // nameResolverFactory: a private resolver with its own bootstrap (as XdsClients)
  private static ManagedChannel javaClient(String nodeId, ReplicaProcess primary, ReplicaProcess fallback) {
    Map<String, ?> bootstrap = Map.of(
        "xds_servers", List.of(xdsServer(primary), xdsServer(fallback)),
        "node", Map.of("id", nodeId, "cluster", "protomatch-it"));
    String scheme = "xds-issue9-" + SCHEMES.incrementAndGet();
    ManagedChannel channel = Grpc.newChannelBuilder(scheme + ":///demo-greeter", InsecureChannelCredentials.create())
        .nameResolverFactory(XdsNameResolverProvider.createForTest(scheme, bootstrap))
        .build();
    channels.add(channel);
    return channel;
  }

  private static Map<String, ?> xdsServer(ReplicaProcess replica) {
    return Map.of("server_uri", "127.0.0.1:" + replica.xdsPort(),
        "channel_creds", List.of(Map.of("type", "insecure")), "server_features", List.of("xds_v3"));
  }

  /** node-client/chaos.js with a bootstrap listing {@code primary} then {@code fallback} (it uses the first only). */
  private static ChaosClientProcess nodeClient(String nodeId, ReplicaProcess primary, ReplicaProcess fallback)
      throws Exception {
    Path bootstrap = Files.writeString(work.resolve("bootstrap-" + nodeId + ".json"), """
        {"xds_servers": [
           {"server_uri": "127.0.0.1:%d", "channel_creds": [{"type": "insecure"}], "server_features": ["xds_v3"]},
           {"server_uri": "127.0.0.1:%d", "channel_creds": [{"type": "insecure"}], "server_features": ["xds_v3"]}],
         "node": {"id": "%s", "cluster": "protomatch-it", "locality": {}}}
        """.formatted(primary.xdsPort(), fallback.xdsPort(), nodeId));
    Path proto = root.resolve("proto/src/demo-v3/proto/demo/greeter.proto");
    return ChaosClientProcess.start("grpc-js-xds", List.of("node", "chaos.js", "--target", "xds:///demo-greeter",
            "--proto", proto.toString(), "--duration-ms", "600000", "--stop-on-stdin-end"),
        root.resolve("integration-tests/node-client"), Map.of("GRPC_XDS_BOOTSTRAP", bootstrap.toString()),
        work.resolve("client-" + nodeId + ".log"));
  }

  private static void awaitFirstOk(ManagedChannel channel) {
    await().atMost(Duration.ofSeconds(30)).until(() -> AlternatingCaller.run(channel, 1, 2_000).count(Status.Code.OK) == 1);
  }

  /** Registers {@code server} with {@code replica}, retrying on UNAVAILABLE; returns the number of attempts. */
  private static int registerUntilAccepted(ProbeCountingGreeter server, ReplicaProcess replica, Duration timeout)
      throws InterruptedException {
    long deadline = System.nanoTime() + timeout.toNanos();
    for (int attempt = 1; ; attempt++) {
      try {
        server.register(replica.registrationPort(), Duration.ofMinutes(5));
        return attempt;
      } catch (StatusRuntimeException e) {
        if (e.getStatus().getCode() != Status.Code.UNAVAILABLE || System.nanoTime() > deadline) {
          throw e;
        }
      }
      Thread.sleep(200);
    }
  }

  /** All three members at once: a member alone has no quorum, so waiting for each in turn would never end. */
  private static void restartAllMembers() throws InterruptedException {
    List<Thread> threads = new ArrayList<>();
    List<Throwable> failures = new java.util.concurrent.CopyOnWriteArrayList<>();
    for (int member = 0; member < etcd.size(); member++) {
      int m = member;
      Thread thread = new Thread(() -> {
        try {
          etcd.restart(m);
        } catch (RuntimeException e) {
          failures.add(e);
        }
      }, "etcd-restart-" + m);
      thread.start();
      threads.add(thread);
    }
    for (Thread thread : threads) {
      thread.join(60_000);
    }
    assertThat(failures).as("etcd members restarted").isEmpty();
  }

  private static Duration awaitReadyAgain(ReplicaProcess replica, long sinceNanos) throws InterruptedException {
    await().atMost(Duration.ofSeconds(60)).until(() -> replica.readyz().startsWith("200"));
    return Duration.ofNanos(System.nanoTime() - sinceNanos);
  }

  private static List<TrafficRecorder.Call> between(TrafficRecorder traffic, long fromNanos, long toNanos) {
    return traffic.calls().stream().filter(c -> c.startNanos() >= fromNanos && c.startNanos() <= toNanos)
        .collect(Collectors.toCollection(ArrayList::new));
  }

  private static String describe(List<TrafficRecorder.Call> calls) {
    List<TrafficRecorder.Call> sorted = new ArrayList<>(calls);
    sorted.sort(java.util.Comparator.comparingLong(TrafficRecorder.Call::startNanos));
    long failed = calls.stream().filter(c -> c.code() != Status.Code.OK).count();
    return calls.size() + " calls " + TrafficRecorder.countByCode(calls, null) + ", " + failed
        + " failed, longest window of failed calls " + TrafficRecorder.longestFailureWindow(sorted).toMillis() + " ms";
  }

  private static String versions(XdsDump dump) {
    return dump.resources().entrySet().stream().filter(e -> e.getKey().endsWith(" version"))
        .map(e -> e.getKey().replace(" version", "") + "=" + e.getValue()).collect(Collectors.joining(", "));
  }

  private static Set<Integer> union(Set<Integer> ports, int port) {
    Set<Integer> all = new java.util.TreeSet<>(ports);
    all.add(port);
    return all;
  }

  private static long millisSince(long nanos) {
    return (System.nanoTime() - nanos) / 1_000_000;
  }
}
