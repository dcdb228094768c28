package dev.protomatch.it;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.protomatch.decision.ServiceDecision;
import dev.protomatch.demo.AlternatingCaller;
import dev.protomatch.testing.XdsClients;
import io.grpc.ManagedChannel;
import io.grpc.Status;
import java.time.Duration;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The field report with grpc-java's own xDS client ({@code grpc-xds}): an old v1 Greeter left running beside
 * two v2 Greeters, every one a real registered process; a client alternates SayHello and SayHelloAgain.
 */
class FieldScenarioGrpcJavaTest {
  private static final int CALLS = 1000;
  private static Fleet fleet;
  private static ServiceDecision decision;

  @BeforeAll
  static void startFleet() throws Exception {
    fleet = Fleet.start();
    fleet.startGreeter("v1", "old-v1");
    fleet.startGreeter("v2", "new-v2-a");
    fleet.startGreeter("v2", "new-v2-b");
    decision = fleet.awaitGreeterDecision(d -> d.included().size() == 2 && d.excluded().size() == 1,
        Duration.ofSeconds(30));
  }

  @AfterAll
  static void stopFleet() {
    fleet.close();
  }

  @Test
  void oldBuildIsExcludedForMissingSayHelloAgain() {
    assertThat(decision.excluded().get(0).reason().describe()).isEqualTo("missing methods [SayHelloAgain]");
  }

  @Test
  void withProtomatchNoCallIsAnsweredUnimplemented() {
    ManagedChannel channel = XdsClients.channel(fleet.xdsPort(), "demo-greeter", "it-grpc-java-filtered");
    try {
      awaitServing(channel);
      AlternatingCaller.Counts counts = AlternatingCaller.run(channel, CALLS, 5_000);
      Reports.append("field-scenario", "grpc-java, protomatch: " + counts);

      assertThat(counts.count(Status.Code.UNIMPLEMENTED)).isZero();
      assertThat(counts.count(Status.Code.OK)).isEqualTo(CALLS);
    } finally {
      channel.shutdownNow();
    }
  }

  @Test
  void withoutFilteringTheSameHarnessCountsUnimplemented() throws Exception {
    try (Unfiltered unfiltered = Unfiltered.start()) {
      unfiltered.publish(fleet.controlPlane().updater().updateNow(), fleet.controlPlane().registry().state());
      ManagedChannel channel = XdsClients.channel(unfiltered.port(), "demo-greeter", "it-grpc-java-unfiltered");
      try {
        awaitServing(channel);
        AlternatingCaller.Counts counts = AlternatingCaller.run(channel, CALLS, 5_000);
        Reports.append("field-scenario", "grpc-java, unfiltered: " + counts);

        assertThat(counts.count(Status.Code.UNIMPLEMENTED)).isGreaterThan(0);
      } finally {
        channel.shutdownNow();
      }
    }
  }

  private static void awaitServing(ManagedChannel channel) {
    await().atMost(Duration.ofSeconds(30)).until(() ->
        AlternatingCaller.run(channel, 1, 5_000).count(Status.Code.OK) == 1);
  }
}
