package dev.protomatch.it;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.protomatch.decision.ExclusionReason;
import dev.protomatch.decision.RoutableEndpoint;
import dev.protomatch.decision.ServiceDecision;
import dev.protomatch.demo.ProtomatchProcess;
import dev.protomatch.xds.XdsClientStatus;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.stream.Collectors;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * A state-of-the-world and an incremental (delta) ADS client on the same control plane end up with the same
 * clusters and endpoints, the ones the routing decision names, and follow the fleet as it changes: an added
 * instance (endpoints updated) and a killed old build (a method cluster removed, which delta must announce
 * in {@code removed_resources}).
 */
class DeltaAndSotwConvergenceTest {
  private static final String CLUSTER = "demo-greeter";
  private static final String USER_AGENT = "protomatch-it-raw";
  private static final Duration CONVERGENCE = Duration.ofSeconds(30);

  private static Fleet fleet;
  private static ProtomatchProcess v1;
  private static ProtomatchProcess v2a;
  private static ProtomatchProcess v2b;
  private static ServiceDecision decision;

  @BeforeAll
  static void startFleet() throws Exception {
    // newest: the old v1 keeps the method it shares with v2, so there are two build sets to route to.
    fleet = Fleet.start(Fleet.POLICY.replace("methods: [SayHello, SayHelloAgain]", "newest"));
    v1 = fleet.startGreeter("v1", "old-v1");
    v2a = fleet.startGreeter("v2", "new-v2-a");
    v2b = fleet.startGreeter("v2", "new-v2-b");
    decision = fleet.awaitGreeterDecision(d -> d.included().size() == 3 && d.builds().size() == 2, CONVERGENCE);
  }

  @AfterAll
  static void stopFleet() {
    if (fleet != null) {
      fleet.close();
    }
  }

  @Test
  void sotwAndDeltaClientsConvergeOnTheDecisionAndFollowFleetChanges() throws Exception {
    try (AdsClient sotw = AdsClient.connect(AdsClient.Mode.SOTW, fleet.xdsPort(),
             AdsClient.node("it-raw-sotw", USER_AGENT));
         AdsClient delta = AdsClient.connect(AdsClient.Mode.DELTA, fleet.xdsPort(),
             AdsClient.node("it-raw-delta", USER_AGENT))) {

      // 1. The fleet as started: SayHelloAgain goes to v2-a and v2-b, SayHello also to the old v1.
      Map<String, Set<String>> expected = published(decision);
      String v2Only = cluster(decision, "SayHelloAgain");
      String v1AndV2 = cluster(decision, "SayHello");
      assertThat(expected).containsOnlyKeys(CLUSTER, v1AndV2, v2Only);
      assertThat(expected.get(CLUSTER)).isEmpty();
      assertThat(expected.get(v2Only)).containsExactlyInAnyOrder(address(v2a), address(v2b));
      assertThat(expected.get(v1AndV2)).containsExactlyInAnyOrder(address(v1), address(v2a), address(v2b));
      awaitBothAt(expected, sotw, delta);

      await().atMost(CONVERGENCE).untilAsserted(() -> {
        List<XdsClientStatus> streams = fleet.controlPlane().clients().clients();
        assertThat(streams).extracting(XdsClientStatus::protocol).containsExactlyInAnyOrder("sotw", "delta");
        assertThat(streams).extracting(XdsClientStatus::nodeId).containsExactlyInAnyOrder("it-raw-sotw", "it-raw-delta");
        assertThat(streams).allSatisfy(stream -> {
          assertThat(stream.protocol()).isEqualTo(stream.nodeId().equals("it-raw-sotw") ? "sotw" : "delta");
          assertThat(stream.userAgent()).isEqualTo(USER_AGENT);
          // Every response was ACKed: for CDS and EDS what was sent last is what is acknowledged.
          for (String type : List.of(AdsClient.CLUSTER_TYPE, AdsClient.ENDPOINT_TYPE)) {
            XdsClientStatus.TypeStatus status = stream.types().get(type);
            assertThat(status).as("%s %s", stream.nodeId(), type).isNotNull();
            assertThat(status.sentVersion()).isNotEmpty();
            assertThat(status.ackedVersion()).as("%s %s", stream.nodeId(), type).isEqualTo(status.sentVersion());
            assertThat(status.lastNack()).isEmpty();
          }
        });
      });

      // 2. A third v2 instance registers: both build-set clusters grow, nothing else changes.
      ProtomatchProcess v2c = fleet.startGreeter("v2", "new-v2-c");
      decision = fleet.awaitGreeterDecision(d -> d.included().size() == 4, CONVERGENCE);
      expected = published(decision);
      assertThat(expected).containsOnlyKeys(CLUSTER, v1AndV2, v2Only);
      assertThat(expected.get(v2Only)).containsExactlyInAnyOrder(address(v2a), address(v2b), address(v2c));
      assertThat(expected.get(v1AndV2))
          .containsExactlyInAnyOrder(address(v1), address(v2a), address(v2b), address(v2c));
      awaitBothAt(expected, sotw, delta);

      // 3. The old v1 is killed (no deregistration) and its lease runs out (it stays listed as excluded for
      // that reason): one build is left, so both methods go to its cluster and the v1+v2 cluster is withdrawn.
      v1.killForcibly();
      String v1Address = address(v1);
      decision = fleet.awaitGreeterDecision(d -> d.included().size() == 3 && d.excluded().stream()
          .anyMatch(e -> e.address().toString().equals(v1Address) && e.reason() instanceof ExclusionReason.LeaseExpired),
          CONVERGENCE);
      expected = published(decision);
      assertThat(expected).isEqualTo(Map.of(CLUSTER, Set.of(), v2Only, Set.of(address(v2a), address(v2b), address(v2c))));
      awaitBothAt(expected, sotw, delta);

      assertThat(sotw.streamError()).isEmpty();
      assertThat(delta.streamError()).isEmpty();
    }
  }

  /** Waits until both clients hold exactly {@code expected} (cluster name to endpoint set). */
  private static void awaitBothAt(Map<String, Set<String>> expected, AdsClient sotw, AdsClient delta) {
    await().atMost(CONVERGENCE).pollInterval(Duration.ofMillis(100)).untilAsserted(() -> {
      assertThat(sotw.streamError()).isEmpty();
      assertThat(delta.streamError()).isEmpty();
      assertThat(sotw.endpointsByCluster()).as("state of the world").isEqualTo(expected);
      assertThat(delta.endpointsByCluster()).as("delta").isEqualTo(expected);
    });
    assertThat(sotw.endpointsByCluster()).isEqualTo(delta.endpointsByCluster());
  }

  private static Map<String, Set<String>> published(ServiceDecision decision) {
    return PublishedClusters.of(decision);
  }

  private static String cluster(ServiceDecision decision, String method) {
    return PublishedClusters.of(decision, method);
  }

  private static String address(ProtomatchProcess greeter) {
    return "127.0.0.1:" + greeter.port();
  }
}
