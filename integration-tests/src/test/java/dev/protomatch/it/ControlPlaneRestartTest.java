package dev.protomatch.it;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.protomatch.demo.AlternatingCaller;
import dev.protomatch.testing.XdsClients;
import io.grpc.ManagedChannel;
import io.grpc.Status;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The control plane goes away and comes back (empty registry, same ports): clients keep calling on their
 * last assignment meanwhile, agents register again, and clients follow changes made after the restart.
 */
class ControlPlaneRestartTest {
  private static Fleet fleet;
  private static ManagedChannel channel;

  @BeforeAll
  static void startFleet() throws Exception {
    fleet = Fleet.start();
    fleet.startGreeter("v1", "old-v1");
    fleet.startGreeter("v2", "v2-a");
    fleet.awaitGreeterDecision(d -> d.included().size() == 1 && d.excluded().size() == 1, Duration.ofSeconds(30));
    channel = XdsClients.channel(fleet.xdsPort(), "demo-greeter", "it-restart");
    await().atMost(Duration.ofSeconds(30)).until(() -> AlternatingCaller.run(channel, 2, 2_000).count(Status.Code.OK) == 2);
  }

  @AfterAll
  static void stopFleet() {
    channel.shutdownNow();
    fleet.close();
  }

  @Test
  void clientsKeepCallingThroughRestartAndFollowChangesAfterIt() throws Exception {
    List<TrafficRecorder.Call> calls;
    List<TrafficRecorder.Call> duringOutage;
    try (TrafficRecorder traffic = new TrafficRecorder(channel, Duration.ofMillis(10))) {
      Thread.sleep(500);
      fleet.stopControlPlane();
      int before = traffic.calls().size();
      Thread.sleep(3_000);
      duringOutage = traffic.calls().subList(before, traffic.calls().size());
      fleet.restartControlPlane();
      await().atMost(Duration.ofSeconds(30)).until(() -> fleet.controlPlane().isReady());

      fleet.startGreeter("v2", "v2-after-restart");
      await().atMost(Duration.ofSeconds(60)).until(() -> traffic.answeredBy("v2-after-restart") > 0);
      calls = traffic.stop();
    }

    Reports.append("restart", "control plane down 3 s: " + duringOutage.size() + " calls during the outage "
        + TrafficRecorder.countByCode(duringOutage, null) + "; whole run " + TrafficRecorder.countByCode(calls, null)
        + "; longest failure window " + TrafficRecorder.longestFailureWindow(calls).toMillis() + " ms");
    assertThat(duringOutage).isNotEmpty().allMatch(call -> call.code() == Status.Code.OK);
    assertThat(TrafficRecorder.countByCode(calls, null)).doesNotContainKey(Status.Code.UNIMPLEMENTED);
  }
}
