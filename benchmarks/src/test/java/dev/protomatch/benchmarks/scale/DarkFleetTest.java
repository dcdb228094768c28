package dev.protomatch.benchmarks.scale;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.google.protobuf.DescriptorProtos.FileDescriptorSet;
import dev.protomatch.probe.ReflectionClient;
import dev.protomatch.probe.ReflectionException;
import dev.protomatch.probe.ReflectionResult;
import io.grpc.ManagedChannel;
import io.grpc.netty.shaded.io.grpc.netty.NettyChannelBuilder;
import java.net.InetSocketAddress;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * The dark fleet as protomatch's own reflection client sees it, over real connections to loopback addresses: while
 * a fleet is injected, each endpoint's address answers with that endpoint's service and build; otherwise, and at
 * addresses outside the fleet, reflection is UNIMPLEMENTED.
 */
class DarkFleetTest {
  private final List<ManagedChannel> channels = new ArrayList<>();
  private DarkFleet dark;

  @AfterEach
  void close() {
    channels.forEach(ManagedChannel::shutdownNow);
    if (dark != null) {
      dark.close();
    }
  }

  @Test
  void anInjectedFleetAnswersReflectionWithTheBuildEachAddressStandsFor() throws Exception {
    dark = DarkFleet.start(0);
    Fleet fleet = new Fleet(300, 50, 2, dark.port());
    dark.answerReflection(fleet);

    for (int endpoint : new int[] {0, 7, 57, 299}) { // 57: service 7 in build 1; 299: 127.1.1.43
      ReflectionResult answer = probe(Fleet.host(endpoint));
      assertThat(answer.services()).containsExactly(Fleet.service(fleet.serviceOf(endpoint)));
      assertThat(answer.files())
          .isEqualTo(FileDescriptorSet.parseFrom(Fleet.descriptorSet(fleet.serviceOf(endpoint), fleet.buildOf(endpoint))));
    }
    assertThat(dark.reflectionAnswers()).isEqualTo(8); // list services, then the file, per endpoint
  }

  @Test
  void addressesOutsideTheInjectedFleetAndARegisteredFleetGetUnimplemented() throws Exception {
    dark = DarkFleet.start(0);
    Fleet fleet = new Fleet(300, 50, 2, dark.port());

    assertThatThrownBy(() -> probe(Fleet.host(1))).isInstanceOf(ReflectionException.class)
        .extracting(e -> ((ReflectionException) e).kind()).isEqualTo(ReflectionException.Kind.NOT_SUPPORTED);

    dark.answerReflection(fleet);
    for (String host : new String[] {Fleet.host(300), Fleet.markerHost(3)}) {
      assertThatThrownBy(() -> probe(host)).isInstanceOf(ReflectionException.class)
          .extracting(e -> ((ReflectionException) e).kind()).isEqualTo(ReflectionException.Kind.NOT_SUPPORTED);
    }
    assertThat(dark.reflectionAnswers()).isZero();
  }

  private ReflectionResult probe(String host) throws ReflectionException {
    ManagedChannel channel = NettyChannelBuilder.forAddress(new InetSocketAddress(host, dark.port())).usePlaintext()
        .build();
    channels.add(channel);
    return new ReflectionClient(Duration.ofSeconds(10)).fetch(channel, host);
  }
}
