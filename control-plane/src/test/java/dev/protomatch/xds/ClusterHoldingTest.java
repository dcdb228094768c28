package dev.protomatch.xds;

import static org.assertj.core.api.Assertions.assertThat;

import dev.protomatch.testing.TestClock;
import io.envoyproxy.envoy.config.core.v3.Node;
import io.envoyproxy.envoy.service.discovery.v3.DeltaDiscoveryRequest;
import io.envoyproxy.envoy.service.discovery.v3.DeltaDiscoveryResponse;
import io.envoyproxy.envoy.service.discovery.v3.DiscoveryRequest;
import io.envoyproxy.envoy.service.discovery.v3.DiscoveryResponse;
import io.envoyproxy.envoy.service.discovery.v3.Resource;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.Test;

/**
 * When the tracker says clients hold new clusters (what staged routes wait for): only once each client that
 * asks for a cluster ACKed it and its assignment by name, as Envoy's and gRPC's subscriptions actually go.
 */
class ClusterHoldingTest {
  private static final String CDS = XdsType.CDS.typeUrl();
  private static final String EDS = XdsType.EDS.typeUrl();
  private static final Node ENVOY = Node.newBuilder().setId("sidecar").setUserAgentName("envoy").build();
  private static final Node GRPC = Node.newBuilder().setId("app").setUserAgentName("grpc-java").build();

  private final XdsClientTracker tracker = new XdsClientTracker(TestClock.atEpochPlusOneDay());

  @Test
  void anEnvoyThatAckedTheNewEndpointsVersionForItsOldClustersOnlyDoesNotHoldTheNewCluster() {
    tracker.onStreamOpen(1, "");
    sotw(1, ENVOY, CDS, List.of(), "", "");
    respond(1, CDS, List.of(), "c2", "cds-2");
    sotw(1, ENVOY, EDS, List.of("a"), "", "");
    respond(1, EDS, List.of("a"), "e2", "eds-2");
    sotw(1, ENVOY, CDS, List.of(), "c2", "cds-2");
    sotw(1, ENVOY, EDS, List.of("a"), "e2", "eds-2");

    assertThat(tracker.allHoldClusters(NodeKind.ENVOY, Set.of("b"), "c2", "e2")).isFalse();
  }

  @Test
  void anEnvoyHoldsTheNewClusterOnceItAckedTheResponseToItsRequestNamingIt() {
    tracker.onStreamOpen(1, "");
    sotw(1, ENVOY, CDS, List.of(), "", "");
    respond(1, CDS, List.of(), "c2", "cds-2");
    sotw(1, ENVOY, CDS, List.of(), "c2", "cds-2");
    sotw(1, ENVOY, EDS, List.of("a", "b"), "", "");
    respond(1, EDS, List.of("a", "b"), "e2", "eds-2");

    sotw(1, ENVOY, EDS, List.of("a", "b"), "e2", "eds-2");

    assertThat(tracker.allHoldClusters(NodeKind.ENVOY, Set.of("b"), "c2", "e2")).isTrue();
  }

  @Test
  void anEnvoyLeftUnansweredBecauseItHoldsEveryAssignmentUnchangedHoldsTheNewEndpointsVersion() {
    tracker.onStreamOpen(1, "");
    sotw(1, ENVOY, CDS, List.of(), "", "");
    respond(1, CDS, List.of(), "c2", "cds-2");
    sotw(1, ENVOY, CDS, List.of(), "c2", "cds-2");
    sotw(1, ENVOY, EDS, List.of("a", "b"), "", "");
    respond(1, EDS, List.of("a", "b"), "e2", "eds-2");
    sotw(1, ENVOY, EDS, List.of("a", "b"), "e2", "eds-2");

    tracker.holdsUnchanged(1, EDS, "e3", List.of("a", "b"));

    assertThat(tracker.allHoldClusters(NodeKind.ENVOY, Set.of("b"), "c2", "e3")).isTrue();
  }

  @Test
  void anEnvoyThatAckedOnlyAnOlderClustersVersionDoesNotHoldTheNewCluster() {
    tracker.onStreamOpen(1, "");
    sotw(1, ENVOY, CDS, List.of(), "", "");
    respond(1, CDS, List.of(), "c1", "cds-1");
    sotw(1, ENVOY, CDS, List.of(), "c1", "cds-1");

    assertThat(tracker.allHoldClusters(NodeKind.ENVOY, Set.of("b"), "c2", "e2")).isFalse();
  }

  @Test
  void aProxylessClientIsNotWaitedForUntilItsRoutesLeadItToTheCluster() {
    tracker.onStreamOpen(1, "");
    sotw(1, GRPC, CDS, List.of("a"), "", "");
    respond(1, CDS, List.of("a"), "c1", "cds-1");
    sotw(1, GRPC, CDS, List.of("a"), "c1", "cds-1");

    assertThat(tracker.allHoldClusters(NodeKind.PROXYLESS, Set.of("b"), "c2", "e2")).isTrue();
  }

  @Test
  void aProxylessClientThatAsksForTheClusterIsWaitedFor() {
    tracker.onStreamOpen(1, "");
    sotw(1, GRPC, CDS, List.of("a", "b"), "", "");

    assertThat(tracker.allHoldClusters(NodeKind.PROXYLESS, Set.of("b"), "c2", "e2")).isFalse();
  }

  @Test
  void clientsOfTheOtherKindAreNotWaitedFor() {
    tracker.onStreamOpen(1, "");
    sotw(1, GRPC, CDS, List.of("b"), "", "");

    assertThat(tracker.allHoldClusters(NodeKind.ENVOY, Set.of("b"), "c2", "e2")).isTrue();
  }

  @Test
  void aDeltaEnvoyHoldsWhatItAckedByNameAndLosesWhatWasRemoved() {
    tracker.onStreamOpen(1, "");
    delta(1, CDS, List.of(), "");
    deltaRespond(1, CDS, List.of("b"), List.of(), "cds-1");
    delta(1, CDS, List.of(), "cds-1");
    delta(1, EDS, List.of("b"), "");
    deltaRespond(1, EDS, List.of("b"), List.of(), "eds-1");
    delta(1, EDS, List.of(), "eds-1");
    assertThat(tracker.allHoldClusters(NodeKind.ENVOY, Set.of("b"), "any", "any")).isTrue();

    deltaRespond(1, CDS, List.of(), List.of("b"), "cds-2");
    delta(1, CDS, List.of(), "cds-2");

    assertThat(tracker.allHoldClusters(NodeKind.ENVOY, Set.of("b"), "any", "any")).isFalse();
  }

  @Test
  void aDeltaEnvoyWaitingForTheAssignmentDoesNotHoldTheCluster() {
    tracker.onStreamOpen(1, "");
    delta(1, CDS, List.of(), "");
    deltaRespond(1, CDS, List.of("b"), List.of(), "cds-1");
    delta(1, CDS, List.of(), "cds-1");
    delta(1, EDS, List.of("b"), "");

    assertThat(tracker.allHoldClusters(NodeKind.ENVOY, Set.of("b"), "any", "any")).isFalse();
  }

  private void sotw(long stream, Node node, String typeUrl, List<String> names, String version, String nonce) {
    tracker.onV3StreamRequest(stream, DiscoveryRequest.newBuilder().setNode(node).setTypeUrl(typeUrl)
        .addAllResourceNames(names).setVersionInfo(version).setResponseNonce(nonce).build());
  }

  private void respond(long stream, String typeUrl, List<String> requested, String version, String nonce) {
    tracker.onV3StreamResponse(stream,
        DiscoveryRequest.newBuilder().setTypeUrl(typeUrl).addAllResourceNames(requested).build(),
        DiscoveryResponse.newBuilder().setTypeUrl(typeUrl).setVersionInfo(version).setNonce(nonce).build());
  }

  private void delta(long stream, String typeUrl, List<String> subscribe, String nonce) {
    tracker.onV3StreamDeltaRequest(stream, DeltaDiscoveryRequest.newBuilder().setNode(ENVOY).setTypeUrl(typeUrl)
        .addAllResourceNamesSubscribe(subscribe).setResponseNonce(nonce).build());
  }

  private void deltaRespond(long stream, String typeUrl, List<String> names, List<String> removed, String nonce) {
    DeltaDiscoveryResponse.Builder response = DeltaDiscoveryResponse.newBuilder().setTypeUrl(typeUrl)
        .setSystemVersionInfo(nonce).setNonce(nonce).addAllRemovedResources(removed);
    names.forEach(name -> response.addResources(Resource.newBuilder().setName(name).setVersion("1")));
    tracker.onV3StreamDeltaResponse(stream, DeltaDiscoveryRequest.getDefaultInstance(), response.build());
  }
}
