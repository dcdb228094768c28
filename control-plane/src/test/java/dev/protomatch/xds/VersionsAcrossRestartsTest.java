package dev.protomatch.xds;

import static org.assertj.core.api.Assertions.assertThat;

import dev.protomatch.decision.RoutingDecision;
import dev.protomatch.testing.RawAdsStream;
import io.envoyproxy.controlplane.cache.v3.SimpleCache;
import io.envoyproxy.envoy.config.cluster.v3.Cluster;
import io.envoyproxy.envoy.config.core.v3.Node;
import io.envoyproxy.envoy.service.discovery.v3.DiscoveryRequest;
import io.envoyproxy.envoy.service.discovery.v3.DiscoveryResponse;
import io.grpc.InsecureServerCredentials;
import java.net.InetSocketAddress;
import java.time.Clock;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * A client that accepted a version from one control plane process reconnects, Envoy-style, to the next
 * process: its first request on the new stream carries the version it accepted (and, wildcard, no names).
 * Each process here publishes three snapshots, so per-process counters would give both third snapshots the
 * same version; content-derived versions send the new process's snapshot exactly when it differs.
 */
class VersionsAcrossRestartsTest {
  private static final Node ENVOY = RawAdsStream.node("restart-test-envoy", "envoy");

  @Test
  void aReconnectingWildcardStreamGetsTheNewProcessesSnapshotOnlyWhenItDiffers() throws Exception {
    String accepted;
    try (Process old = Process.start(); var stream = RawAdsStream.sotw(old.port())) {
      old.publish(TestDecisions.greeter("alpha", 50051), TestDecisions.greeter("beta", 50051),
          TestDecisions.greeter("gamma", 50051));
      stream.send(clusters("", ""));
      DiscoveryResponse third = stream.next();
      assertThat(clusterNames(third)).isNotEmpty().allMatch(name -> name.equals("gamma") || name.startsWith("gamma~")
          || name.equals(SnapshotBuilder.UNKNOWN_SERVICE_CLUSTER));
      stream.send(clusters(third.getVersionInfo(), third.getNonce()));
      accepted = third.getVersionInfo();
    }

    try (Process changed = Process.start(); var stream = RawAdsStream.sotw(changed.port())) {
      changed.publish(TestDecisions.greeter("delta", 50051), TestDecisions.greeter("epsilon", 50051),
          TestDecisions.greeter("zeta", 50051));

      stream.send(clusters(accepted, ""));

      DiscoveryResponse response = stream.next();
      assertThat(response.getTypeUrl()).isEqualTo(RawAdsStream.CLUSTERS);
      assertThat(clusterNames(response)).isNotEmpty().allMatch(name -> name.equals("zeta") || name.startsWith("zeta~")
          || name.equals(SnapshotBuilder.UNKNOWN_SERVICE_CLUSTER));
      assertThat(response.getVersionInfo()).isNotEqualTo(accepted);
    }

    try (Process same = Process.start(); var stream = RawAdsStream.sotw(same.port())) {
      same.publish(TestDecisions.greeter("alpha", 50051), TestDecisions.greeter("beta", 50051),
          TestDecisions.greeter("gamma", 50051));

      stream.send(clusters(accepted, ""));
      stream.send(DiscoveryRequest.newBuilder().setNode(ENVOY).setTypeUrl(RawAdsStream.LISTENERS).build()); // sentinel

      assertThat(stream.next().getTypeUrl()).as("the first response on the new stream")
          .isEqualTo(RawAdsStream.LISTENERS);
      assertThat(same.cache.getSnapshot(NodeKind.ENVOY.group()).clusters().version()).isEqualTo(accepted);
    }
  }

  private static DiscoveryRequest clusters(String version, String nonce) {
    return DiscoveryRequest.newBuilder().setNode(ENVOY).setTypeUrl(RawAdsStream.CLUSTERS).setVersionInfo(version)
        .setResponseNonce(nonce).build();
  }

  private static List<String> clusterNames(DiscoveryResponse response) throws Exception {
    List<String> names = new ArrayList<>();
    for (var any : response.getResourcesList()) {
      names.add(any.unpack(Cluster.class).getName());
    }
    return names;
  }

  /** One control plane process's xDS side: a fresh cache, publisher and server. */
  private record Process(SimpleCache<String> cache, SnapshotPublisher publisher, XdsServer server)
      implements AutoCloseable {
    static Process start() throws Exception {
      SimpleCache<String> cache = new SimpleCache<>(node -> NodeKind.of(node).group());
      return new Process(cache, new SnapshotPublisher(cache, new SnapshotBuilder("127.0.0.1", 15001)),
          XdsServer.start(new InetSocketAddress("127.0.0.1", 0), InsecureServerCredentials.create(), cache,
              new XdsClientTracker(Clock.systemUTC())));
    }

    void publish(RoutingDecision... decisions) {
      for (RoutingDecision decision : decisions) {
        publisher.publish(decision);
      }
    }

    int port() {
      return server.port();
    }

    @Override
    public void close() {
      server.close();
    }
  }
}
