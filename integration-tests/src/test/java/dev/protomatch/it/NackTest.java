package dev.protomatch.it;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import ch.qos.logback.classic.Level;
import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.read.ListAppender;
import com.sun.management.OperatingSystemMXBean;
import dev.protomatch.decision.RoutableEndpoint;
import dev.protomatch.decision.ServiceDecision;
import dev.protomatch.demo.v2.GreeterGrpc;
import dev.protomatch.demo.v2.HelloRequest;
import dev.protomatch.testing.PrometheusText;
import dev.protomatch.testing.XdsClients;
import dev.protomatch.xds.NodeKind;
import dev.protomatch.xds.XdsClientStatus;
import dev.protomatch.xds.XdsClientTracker;
import dev.protomatch.xds.XdsType;
import io.envoyproxy.controlplane.cache.v3.Snapshot;
import io.envoyproxy.envoy.config.cluster.v3.Cluster;
import io.grpc.ManagedChannel;
import io.grpc.StatusRuntimeException;
import java.lang.management.ManagementFactory;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.TimeUnit;
import java.util.stream.Collectors;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.slf4j.LoggerFactory;

/**
 * A client that rejects what protomatch sends (a NACK, here from raw ADS clients on both protocol variants)
 * is recorded with its own error text and logged, and changes nothing for anyone else: a grpc-java xDS
 * client on the same control plane keeps calling successfully and keeps receiving updates, and the NACKing
 * clients themselves get the next different configuration. A rejected version is never sent again to the
 * stream that rejected it: a real grpc-java client that keeps rejecting is sent a handful of responses, not
 * a storm (measured in nack-storm.txt).
 */
class NackTest {
  private static final String SOTW_NODE = "it-raw-nack-sotw";
  private static final String DELTA_NODE = "it-raw-nack-delta";
  private static final String GRPC_JAVA_NODE = "it-grpc-java-beside-nack";
  private static final String REJECTING_NODE = "it-grpc-java-rejecting";
  private static final String INVALID_CLUSTERS_VERSION = "static-cluster-grpc-java-rejects";
  private static final Duration STORM_WINDOW = Duration.ofSeconds(10);
  private static final String SOTW_ERROR = "rejected by test: bad endpoint";
  private static final String DELTA_ERROR = "rejected by test (delta): bad endpoint";
  private static final String USER_AGENT = "protomatch-it-raw";
  private static final Duration PATIENCE = Duration.ofSeconds(30);

  private static Fleet fleet;
  private static ServiceDecision decision;

  private final ListAppender<ILoggingEvent> trackerLog = new ListAppender<>();

  @BeforeAll
  static void startFleet() throws Exception {
    fleet = Fleet.start();
    fleet.startGreeter("v1", "old-v1");
    fleet.startGreeter("v2", "new-v2-a");
    fleet.startGreeter("v2", "new-v2-b");
    decision = fleet.awaitGreeterDecision(d -> d.included().size() == 2 && d.excluded().size() == 1, PATIENCE);
  }

  @AfterAll
  static void stopFleet() {
    if (fleet != null) {
      fleet.close();
    }
  }

  @BeforeEach
  void captureTrackerLog() {
    trackerLog.start();
    ((Logger) LoggerFactory.getLogger(XdsClientTracker.class)).addAppender(trackerLog);
  }

  @AfterEach
  void releaseTrackerLog() {
    ((Logger) LoggerFactory.getLogger(XdsClientTracker.class)).detachAppender(trackerLog);
    trackerLog.stop();
  }

  @Test
  void nacksAreRecordedAndLoggedWhileOtherClientsKeepBeingServed() throws Exception {
    ManagedChannel channel = XdsClients.channel(fleet.xdsPort(), "demo-greeter", GRPC_JAVA_NODE);
    try {
      GreeterGrpc.GreeterBlockingStub greeter = GreeterGrpc.newBlockingStub(channel);
      await().atMost(PATIENCE).ignoreExceptions().until(() -> sayHello(greeter) != null);
      assertAllCallsSucceed(greeter, 20);

      // The delta client rejects the first assignments it is sent; the SotW client accepts its first ones.
      try (AdsClient delta = AdsClient.connect(AdsClient.Mode.DELTA, fleet.xdsPort(),
               AdsClient.node(DELTA_NODE, USER_AGENT), List.of(), Map.of(AdsClient.ENDPOINT_TYPE, DELTA_ERROR));
           AdsClient sotw = AdsClient.connect(AdsClient.Mode.SOTW, fleet.xdsPort(),
               AdsClient.node(SOTW_NODE, USER_AGENT))) {
        AdsClient.SentNack deltaNack = awaitFirstNack(delta);
        assertThat(deltaNack.typeUrl()).isEqualTo(AdsClient.ENDPOINT_TYPE);
        await().atMost(PATIENCE).untilAsserted(() ->
            assertThat(lastNack(DELTA_NODE, AdsClient.ENDPOINT_TYPE)).hasValueSatisfying(nack ->
                assertThat(nack.errorDetail()).isEqualTo(DELTA_ERROR)));
        assertAllCallsSucceed(greeter, 20);

        // The SotW client holds the current endpoints, then rejects the next update of them.
        await().atMost(PATIENCE).untilAsserted(() -> assertThat(sotw.endpointsByCluster()).isEqualTo(published(decision)));
        var sotwNack = sotw.nackNext(AdsClient.ENDPOINT_TYPE, SOTW_ERROR);

        fleet.startGreeter("v2", "new-v2-c");
        decision = fleet.awaitGreeterDecision(d -> d.included().size() == 3, PATIENCE);
        AdsClient.SentNack sotwSent = sotwNack.get(PATIENCE.toSeconds(), TimeUnit.SECONDS);
        assertThat(sotwSent.typeUrl()).isEqualTo(AdsClient.ENDPOINT_TYPE);
        await().atMost(PATIENCE).untilAsserted(() ->
            assertThat(lastNack(SOTW_NODE, AdsClient.ENDPOINT_TYPE)).hasValueSatisfying(nack ->
                assertThat(nack.errorDetail()).isEqualTo(SOTW_ERROR)));

        // The grpc-java client gets the update others rejected: the new instance eventually answers, and no
        // call fails on the way.
        List<String> failures = new ArrayList<>();
        await().atMost(PATIENCE).pollDelay(Duration.ZERO).pollInterval(Duration.ofMillis(20)).until(() -> {
          try {
            return sayHello(greeter).contains("from new-v2-c ");
          } catch (StatusRuntimeException e) {
            failures.add(e.getStatus().toString());
            return false;
          }
        });
        assertThat(failures).isEmpty();
        assertAllCallsSucceed(greeter, 20);

        // A rejected version is not sent again: the NACKing clients are served the next different snapshot,
        // and both then hold its endpoints and have ACKed them.
        fleet.startGreeter("v2", "new-v2-d");
        decision = fleet.awaitGreeterDecision(d -> d.included().size() == 4, PATIENCE);
        Map<String, Set<String>> expected = published(decision);
        await().atMost(PATIENCE).untilAsserted(() -> {
          assertThat(sotw.endpointsByCluster()).as("state of the world").isEqualTo(expected);
          assertThat(delta.endpointsByCluster()).as("delta").isEqualTo(expected);
        });
        await().atMost(PATIENCE).untilAsserted(() -> {
          for (String node : List.of(SOTW_NODE, DELTA_NODE)) {
            XdsClientStatus.TypeStatus eds = status(node).types().get(AdsClient.ENDPOINT_TYPE);
            assertThat(eds.ackedVersion()).as(node).isEqualTo(eds.sentVersion());
          }
        });
        assertThat(sotw.streamError()).isEmpty();
        assertThat(delta.streamError()).isEmpty();

        // Each stream keeps its own record: the NACKs stay where they were made.
        assertThat(lastNack(SOTW_NODE, AdsClient.ENDPOINT_TYPE).orElseThrow().errorDetail()).isEqualTo(SOTW_ERROR);
        assertThat(lastNack(DELTA_NODE, AdsClient.ENDPOINT_TYPE).orElseThrow().errorDetail()).isEqualTo(DELTA_ERROR);
        assertThat(lastNack(SOTW_NODE, AdsClient.CLUSTER_TYPE)).isEmpty();
        assertThat(lastNack(DELTA_NODE, AdsClient.CLUSTER_TYPE)).isEmpty();
        assertThat(status(GRPC_JAVA_NODE).types().values()).allSatisfy(type -> assertThat(type.lastNack()).isEmpty());
        // A NACK names the rejected response by nonce (SotW's version_info is the last *accepted* version);
        // the tracker maps the nonce back to the version it sent.
        assertThat(lastNack(DELTA_NODE, AdsClient.ENDPOINT_TYPE).orElseThrow().version())
            .isEqualTo(deltaNack.rejectedVersion());
        assertThat(lastNack(SOTW_NODE, AdsClient.ENDPOINT_TYPE).orElseThrow().version())
            .isEqualTo(sotwSent.rejectedVersion());
        Reports.append("nack", "delta: rejected EDS version " + deltaNack.rejectedVersion() + ", recorded "
            + lastNack(DELTA_NODE, AdsClient.ENDPOINT_TYPE).orElseThrow() + "; sotw: rejected EDS version "
            + sotwSent.rejectedVersion() + ", recorded " + lastNack(SOTW_NODE, AdsClient.ENDPOINT_TYPE).orElseThrow());

        // And the operator sees each NACK once in the log, with the node and the client's own words.
        assertThat(warnings()).filteredOn(line -> line.contains(SOTW_ERROR)).singleElement()
            .satisfies(line -> assertThat(line).contains("NACK from node '" + SOTW_NODE + "'"));
        assertThat(warnings()).filteredOn(line -> line.contains(DELTA_ERROR)).singleElement()
            .satisfies(line -> assertThat(line).contains("NACK from node '" + DELTA_NODE + "'"));
      }
    } finally {
      channel.shutdownNow();
    }
  }

  /**
   * A real grpc-java client rejects a cluster (STATIC, which grpc-java does not support) and keeps
   * rejecting it: what protomatch sends it over the next 10 s is counted on the wire by a pass-through ADS
   * proxy, with this JVM's CPU time (control plane and client both run here). The rejected version must not
   * be sent again; the client keeps its last good clusters and gets the next different snapshot.
   */
  @Test
  void aRejectedVersionIsNotSentAgainToTheClientThatRejectedIt() throws Exception {
    var cache = fleet.controlPlane().snapshotCache();
    Snapshot good = cache.getSnapshot(NodeKind.PROXYLESS.group());
    try (CountingAdsProxy proxy = CountingAdsProxy.start(fleet.xdsPort())) {
      ManagedChannel channel = XdsClients.channel(proxy.port(), "demo-greeter", REJECTING_NODE);
      try {
        GreeterGrpc.GreeterBlockingStub greeter = GreeterGrpc.newBlockingStub(channel);
        await().atMost(PATIENCE).ignoreExceptions().until(() -> sayHello(greeter) != null);
        await().atMost(PATIENCE).until(() -> status(REJECTING_NODE).types().values().stream()
            .allMatch(type -> !type.ackedVersion().isEmpty() && type.ackedVersion().equals(type.sentVersion())));
        double nacksCountedBefore = countedNacks(XdsType.CDS);
        long responsesBefore = proxy.totalResponses();
        long nacksBefore = proxy.totalNacks();
        OperatingSystemMXBean os = (OperatingSystemMXBean) ManagementFactory.getOperatingSystemMXBean();
        long cpuBefore = os.getProcessCpuTime();
        long wallBefore = System.nanoTime();

        cache.setSnapshot(NodeKind.PROXYLESS.group(), withUnsupportedCluster(good));
        Thread.sleep(STORM_WINDOW.toMillis());

        long responses = proxy.totalResponses() - responsesBefore;
        long nacks = proxy.totalNacks() - nacksBefore;
        long cpuMillis = (os.getProcessCpuTime() - cpuBefore) / 1_000_000;
        long wallMillis = (System.nanoTime() - wallBefore) / 1_000_000;
        Reports.append("nack-storm", "grpc-java client rejecting CDS version '" + INVALID_CLUSTERS_VERSION + "': "
            + responses + " responses sent to it and " + nacks + " NACKs from it in " + wallMillis + " ms (by type: "
            + proxy.responses() + "); JVM process CPU (control plane + client) " + cpuMillis + " ms over "
            + wallMillis + " ms wall, " + os.getAvailableProcessors() + " cores");

        assertThat(nacks).as("NACKs of the unsupported cluster").isPositive();
        assertThat(responses).as("responses sent to the rejecting client in %s", STORM_WINDOW).isLessThanOrEqualTo(5);
        // protomatch still counts every NACK it received, and the client's own words are on /v1/clients.
        await().atMost(PATIENCE).untilAsserted(() ->
            assertThat(countedNacks(XdsType.CDS) - nacksCountedBefore).isEqualTo((double) nacks));
        assertThat(lastNack(REJECTING_NODE, AdsClient.CLUSTER_TYPE)).hasValueSatisfying(nack -> {
          assertThat(nack.version()).isEqualTo(INVALID_CLUSTERS_VERSION);
          assertThat(nack.errorDetail()).contains("demo-greeter");
        });
        assertThat(warnings()).filteredOn(line -> line.contains("NACK from node '" + REJECTING_NODE + "'"))
            .singleElement().satisfies(line -> assertThat(line).contains(INVALID_CLUSTERS_VERSION));
        assertAllCallsSucceed(greeter, 20); // on its last good clusters

        // The next different snapshot reaches the client, and it accepts it.
        cache.setSnapshot(NodeKind.PROXYLESS.group(), good);
        await().atMost(PATIENCE).untilAsserted(() -> assertThat(status(REJECTING_NODE).types()
            .get(AdsClient.CLUSTER_TYPE).ackedVersion()).isEqualTo(good.clusters().version()));
        assertAllCallsSucceed(greeter, 20);
      } finally {
        channel.shutdownNow();
      }
    } finally {
      cache.setSnapshot(NodeKind.PROXYLESS.group(), good);
    }
  }

  /** The snapshot with its demo-greeter cluster made STATIC, which grpc-java rejects (EDS and LOGICAL_DNS only). */
  private static Snapshot withUnsupportedCluster(Snapshot good) {
    Map<String, Cluster> clusters = new TreeMap<>(good.clusters().resources());
    clusters.put("demo-greeter", clusters.get("demo-greeter").toBuilder().setType(Cluster.DiscoveryType.STATIC).build());
    return Snapshot.create(
        clusters.values(), INVALID_CLUSTERS_VERSION,
        good.endpoints().resources().values(), good.endpoints().version(),
        good.listeners().resources().values(), good.listeners().version(),
        good.routes().resources().values(), good.routes().version(),
        List.of(), "0");
  }

  private static double countedNacks(XdsType type) {
    try {
      HttpResponse<String> response = HttpClient.newHttpClient().send(HttpRequest.newBuilder(URI.create(
          "http://127.0.0.1:" + fleet.controlPlane().adminPort() + "/metrics")).build(), HttpResponse.BodyHandlers.ofString());
      return PrometheusText.parse(response.body()).sum("protomatch_xds_nacks_total", Map.of("type", type.name()));
    } catch (java.io.IOException e) {
      throw new java.io.UncheckedIOException(e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException(e);
    }
  }

  private static AdsClient.SentNack awaitFirstNack(AdsClient client) {
    await().atMost(PATIENCE).until(() -> !client.sentNacks().isEmpty());
    return client.sentNacks().get(0);
  }

  private static String sayHello(GreeterGrpc.GreeterBlockingStub greeter) {
    return greeter.withDeadlineAfter(5, TimeUnit.SECONDS)
        .sayHello(HelloRequest.newBuilder().setName("nack-test").build()).getMessage();
  }

  private static void assertAllCallsSucceed(GreeterGrpc.GreeterBlockingStub greeter, int calls) {
    for (int i = 0; i < calls; i++) {
      assertThat(sayHello(greeter)).startsWith("Hello nack-test from ");
    }
  }

  private static XdsClientStatus status(String nodeId) {
    List<XdsClientStatus> streams = fleet.controlPlane().clients().clients().stream()
        .filter(s -> s.nodeId().equals(nodeId)).toList();
    assertThat(streams).as("streams of node %s", nodeId).hasSize(1);
    return streams.get(0);
  }

  private static Optional<XdsClientStatus.Nack> lastNack(String nodeId, String typeUrl) {
    XdsClientStatus.TypeStatus type = status(nodeId).types().get(typeUrl);
    return type == null ? Optional.empty() : type.lastNack();
  }

  private List<String> warnings() {
    synchronized (trackerLog) {
      return trackerLog.list.stream().filter(e -> e.getLevel() == Level.WARN)
          .map(ILoggingEvent::getFormattedMessage).toList();
    }
  }

  /** What the decision says a proxyless client should hold (see DeltaAndSotwConvergenceTest). */
  private static Map<String, Set<String>> published(ServiceDecision decision) {
    return PublishedClusters.of(decision);
  }

  private static Set<String> addresses(List<RoutableEndpoint> endpoints) {
    return endpoints.stream().map(e -> e.address().host() + ":" + e.address().port()).collect(Collectors.toSet());
  }
}
