package dev.protomatch.xds;

import static org.assertj.core.api.Assertions.assertThat;

import io.envoyproxy.envoy.config.cluster.v3.Cluster;
import io.envoyproxy.envoy.config.endpoint.v3.ClusterLoadAssignment;
import io.envoyproxy.envoy.config.endpoint.v3.LocalityLbEndpoints;
import java.time.Duration;
import java.time.Instant;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.function.Predicate;
import org.junit.jupiter.api.Test;

/** A cluster the routes stop leading to stays published, with its last assignment, until clients ACK routes without it. */
class ClusterRetentionTest {
  private static final Instant T0 = Instant.parse("2026-01-02T00:00:00Z");
  private final ClusterRetention retention = new ClusterRetention(Duration.ofMinutes(10));
  /** The route versions every client has ACKed. */
  private final Set<String> acked = new HashSet<>();
  private final Predicate<Set<String>> settled = versions -> versions.stream().anyMatch(acked::contains);

  @Test
  void aDroppedClusterStaysWithItsLastAssignmentUntilClientsAckRoutesWithoutIt() {
    retention.apply(resources("old", "kept"), T0, settled);

    XdsResources published = retention.apply(resources("new", "kept"), T0.plusSeconds(1), settled);
    retention.routesPublished("routes-2");

    assertThat(names(published)).containsExactly("kept", "new", "old");
    assertThat(published.endpoints()).extracting(ClusterLoadAssignment::getClusterName).containsExactly("kept", "new", "old");
    assertThat(published.endpoints().get(2).getEndpointsCount()).isEqualTo(1);
    assertThat(names(retention.apply(resources("new", "kept"), T0.plusSeconds(60), settled))).contains("old");
  }

  @Test
  void itIsDroppedAtTheFirstPublicationAfterEveryClientAckedRoutesWithoutIt() {
    retention.apply(resources("old"), T0, settled);
    retention.apply(resources("new"), T0.plusSeconds(1), settled);
    retention.routesPublished("routes-2");

    acked.add("routes-2");

    assertThat(names(retention.apply(resources("new"), T0.plusSeconds(2), settled))).containsExactly("new");
  }

  @Test
  void anAckOfRoutesPublishedBeforeItWasDroppedDoesNotCount() {
    retention.apply(resources("old"), T0, settled);
    retention.routesPublished("routes-1");
    acked.add("routes-1");
    retention.apply(resources("new"), T0.plusSeconds(1), settled);
    retention.routesPublished("routes-2");

    assertThat(names(retention.apply(resources("new"), T0.plusSeconds(2), settled))).containsExactly("new", "old");
  }

  @Test
  void aClientThatNeverAcksHoldsItNoLongerThanTheMaximum() {
    retention.apply(resources("old"), T0, settled);
    retention.apply(resources("new"), T0.plusSeconds(1), settled);
    retention.routesPublished("routes-2");

    assertThat(names(retention.apply(resources("new"), T0.plusSeconds(600), settled))).containsExactly("new", "old");
    assertThat(names(retention.apply(resources("new"), T0.plusSeconds(601), settled))).containsExactly("new");
  }

  @Test
  void aClusterThatComesBackIsTheNewOneNotTheRetiredCopy() {
    retention.apply(resources("old"), T0, settled);
    retention.apply(resources("new"), T0.plusSeconds(1), settled);

    XdsResources published = retention.apply(resources("old"), T0.plusSeconds(2), settled);
    retention.routesPublished("routes-3");
    acked.add("routes-3");

    assertThat(names(published)).containsExactly("new", "old");
    assertThat(names(retention.apply(resources("old"), T0.plusSeconds(3), settled))).containsExactly("old");
  }

  @Test
  void nothingDroppedPublishesExactlyWhatWasBuilt() {
    XdsResources built = resources("a", "b");

    assertThat(retention.apply(built, T0, settled)).isSameAs(built);
  }

  private static List<String> names(XdsResources resources) {
    return resources.clusters().stream().map(Cluster::getName).toList();
  }

  private static XdsResources resources(String... clusters) {
    return new XdsResources(
        java.util.Arrays.stream(clusters).sorted().map(n -> Cluster.newBuilder().setName(n).build()).toList(),
        java.util.Arrays.stream(clusters).sorted().map(n -> ClusterLoadAssignment.newBuilder().setClusterName(n)
            .addEndpoints(LocalityLbEndpoints.getDefaultInstance()).build()).toList(),
        List.of(), List.of());
  }
}
