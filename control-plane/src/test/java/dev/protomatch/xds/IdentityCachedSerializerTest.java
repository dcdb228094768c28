package dev.protomatch.xds;

import static org.assertj.core.api.Assertions.assertThat;

import com.google.protobuf.Any;
import io.envoyproxy.controlplane.cache.Resources;
import io.envoyproxy.envoy.config.endpoint.v3.ClusterLoadAssignment;
import org.junit.jupiter.api.Test;

/** One packing per resource object; an equal object built anew is packed to the same bytes. */
class IdentityCachedSerializerTest {
  private final IdentityCachedSerializer serializer = new IdentityCachedSerializer();

  @Test
  void theSameObjectIsPackedOnceAndAnEqualOneToTheSameBytes() throws Exception {
    ClusterLoadAssignment assignment = ClusterLoadAssignment.newBuilder().setClusterName("svc-1").build();
    ClusterLoadAssignment equal = ClusterLoadAssignment.newBuilder().setClusterName("svc-1").build();

    Any first = serializer.serialize(assignment, Resources.ApiVersion.V3);

    assertThat(serializer.serialize(assignment, Resources.ApiVersion.V3)).isSameAs(first);
    Any other = serializer.serialize(equal, Resources.ApiVersion.V3);
    assertThat(other).isNotSameAs(first).isEqualTo(first);
    assertThat(first.unpack(ClusterLoadAssignment.class)).isEqualTo(assignment);
  }
}
