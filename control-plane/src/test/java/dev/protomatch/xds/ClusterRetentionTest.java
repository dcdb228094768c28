package dev.protomatch.xds;

import static org.assertj.core.api.Assertions.assertThat;

import io.envoyproxy.envoy.config.cluster.v3.Cluster;
import io.envoyproxy.envoy.config.endpoint.v3.ClusterLoadAssignment;
import io.envoyproxy.envoy.config.endpoint.v3.LocalityLbEndpoints;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import org.junit.jupiter.api.Test;

/** A cluster the routes stop leading to stays published, with its last assignment, for the grace period. */
class ClusterRetentionTest {
  private static final Instant T0 = Instant.parse("2026-01-02T00:00:00Z");
  private final ClusterRetention retention = new ClusterRetention(Duration.ofSeconds(10));

  @Test
  void aDroppedClusterStaysWithItsLastAssignmentDuringTheGracePeriod() {
    retention.apply(resources("old", "kept"), T0);

    XdsResources published = retention.apply(resources("new", "kept"), T0.plusSeconds(1));

    assertThat(names(published)).containsExactly("kept", "new", "old");
    assertThat(published.endpoints()).extracting(ClusterLoadAssignment::getClusterName).containsExactly("kept", "new", "old");
    assertThat(published.endpoints().get(2).getEndpointsCount()).isEqualTo(1);
  }

  @Test
  void itIsDroppedAtTheFirstPublicationAfterTheGracePeriod() {
    retention.apply(resources("old"), T0);
    retention.apply(resources("new"), T0.plusSeconds(1));

    assertThat(names(retention.apply(resources("new"), T0.plusSeconds(10)))).containsExactly("new", "old");
    assertThat(names(retention.apply(resources("new"), T0.plusSeconds(11)))).containsExactly("new");
  }

  @Test
  void graceCountsFromTheFirstPublicationWithoutItNotTheLast() {
    retention.apply(resources("old"), T0);
    retention.apply(resources("new"), T0.plusSeconds(1));
    retention.apply(resources("newer"), T0.plusSeconds(5));

    assertThat(names(retention.apply(resources("newer"), T0.plusSeconds(12)))).containsExactly("new", "newer");
  }

  @Test
  void aClusterThatComesBackIsTheNewOneNotTheRetiredCopy() {
    retention.apply(resources("old"), T0);
    retention.apply(resources("new"), T0.plusSeconds(1));

    XdsResources published = retention.apply(resources("old"), T0.plusSeconds(2));

    assertThat(names(published)).containsExactly("new", "old");
    assertThat(retention.apply(resources("old"), T0.plusSeconds(30)).clusters()).extracting(Cluster::getName)
        .containsExactly("old");
  }

  @Test
  void nothingDroppedPublishesExactlyWhatWasBuilt() {
    XdsResources built = resources("a", "b");

    assertThat(retention.apply(built, T0)).isSameAs(built);
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
