package dev.protomatch.xds;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.google.protobuf.Any;
import com.google.protobuf.Struct;
import com.google.protobuf.Value;
import io.envoyproxy.envoy.config.cluster.v3.Cluster;
import io.envoyproxy.envoy.config.core.v3.Metadata;
import io.envoyproxy.envoy.config.endpoint.v3.ClusterLoadAssignment;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** Versions that depend on content only: not on map insertion order, the process, or the resource order. */
class ContentVersionsTest {
  @Test
  void mapEntriesInAnotherInsertionOrderGiveTheSameVersion() {
    Cluster ab = Cluster.newBuilder().setName("c")
        .putTypedExtensionProtocolOptions("a", Any.pack(Struct.getDefaultInstance()))
        .putTypedExtensionProtocolOptions("b", Any.pack(Cluster.getDefaultInstance()))
        .setMetadata(Metadata.newBuilder().putFilterMetadata("m", Struct.newBuilder()
            .putFields("x", Value.newBuilder().setNumberValue(1).build())
            .putFields("y", Value.newBuilder().setStringValue("two").build()).build()))
        .build();
    Cluster ba = Cluster.newBuilder().setName("c")
        .putTypedExtensionProtocolOptions("b", Any.pack(Cluster.getDefaultInstance()))
        .putTypedExtensionProtocolOptions("a", Any.pack(Struct.getDefaultInstance()))
        .setMetadata(Metadata.newBuilder().putFilterMetadata("m", Struct.newBuilder()
            .putFields("y", Value.newBuilder().setStringValue("two").build())
            .putFields("x", Value.newBuilder().setNumberValue(1).build()).build()))
        .build();

    assertThat(ContentVersions.of(ba)).isEqualTo(ContentVersions.of(ab)).matches("[0-9a-f]{16}");
  }

  @Test
  void anyDifferenceGivesAnotherVersion() {
    Cluster cluster = Cluster.newBuilder().setName("c").build();

    assertThat(ContentVersions.of(cluster.toBuilder().setName("d").build())).isNotEqualTo(ContentVersions.of(cluster));
    // The same bytes as another message type are another resource.
    assertThat(ContentVersions.of(ClusterLoadAssignment.getDefaultInstance()))
        .isNotEqualTo(ContentVersions.of(Cluster.getDefaultInstance()));
  }

  @Test
  void aTypeVersionDependsOnItsResourcesNotOnTheirOrder() {
    Cluster a = Cluster.newBuilder().setName("a").build();
    Cluster b = Cluster.newBuilder().setName("b").build();

    assertThat(ContentVersions.resources(List.of(b, a)).version())
        .isEqualTo(ContentVersions.resources(List.of(a, b)).version())
        .isNotEqualTo(ContentVersions.resources(List.of(a)).version());
    assertThat(ContentVersions.ofType(Map.of("a", "1", "b", "2")))
        .isNotEqualTo(ContentVersions.ofType(Map.of("a", "2", "b", "1")));
  }

  @Test
  void eachResourceCarriesItsOwnVersionForDeltaClients() {
    Cluster a = Cluster.newBuilder().setName("a").build();

    assertThat(ContentVersions.resources(List.of(a)).versionedResources().get("a").version())
        .isEqualTo(ContentVersions.of(a));
  }

  @Test
  void versioningAgainstThePreviousResourcesGivesTheVersionsVersioningFromScratchGives() {
    Cluster a = Cluster.newBuilder().setName("a").build();
    Cluster b = Cluster.newBuilder().setName("b").build();
    Cluster bChanged = b.toBuilder().setAltStatName("changed").build();
    Cluster c = Cluster.newBuilder().setName("c").build();
    var previous = ContentVersions.resources(List.of(a, b));

    var next = ContentVersions.resources(List.of(a, bChanged, c), previous);

    var fromScratch = ContentVersions.resources(List.of(a, bChanged, c));
    assertThat(next.version()).isEqualTo(fromScratch.version()).isNotEqualTo(previous.version());
    for (String name : List.of("a", "b", "c")) {
      assertThat(next.versionedResources().get(name).version())
          .isEqualTo(fromScratch.versionedResources().get(name).version());
    }
    assertThat(next.versionedResources().get("a")).isSameAs(previous.versionedResources().get("a"));
  }

  @Test
  void twoResourcesOfOneNameAreRefused() {
    Cluster a = Cluster.newBuilder().setName("a").build();

    assertThatThrownBy(() -> ContentVersions.resources(List.of(a, a.toBuilder().setAltStatName("x").build())))
        .hasMessage("two resources named 'a' of type envoy.config.cluster.v3.Cluster");
  }
}
