package dev.protomatch.it;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.protomatch.decision.RoutableEndpoint;
import dev.protomatch.decision.ServiceDecision;
import dev.protomatch.demo.AlternatingCaller;
import dev.protomatch.demo.ProtomatchProcess;
import dev.protomatch.registry.EndpointAddress;
import dev.protomatch.testing.XdsClients;
import io.grpc.ManagedChannel;
import io.grpc.Status;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * Upgrades and failures under continuous traffic from grpc-java's xDS client: a rolling upgrade v1 -> v2 one
 * instance at a time, and a v2 instance killed with SIGKILL.
 */
class RollingUpgradeTest {
  private Fleet fleet;
  private ManagedChannel channel;

  @BeforeEach
  void startFleet() throws Exception {
    fleet = Fleet.start();
  }

  @AfterEach
  void stopFleet() {
    if (channel != null) {
      channel.shutdownNow();
    }
    fleet.close();
  }

  @Test
  void rollingUpgradeOneInstanceAtATimeNeverAnswersUnimplemented() throws Exception {
    List<ProtomatchProcess> old = new ArrayList<>();
    for (int i = 0; i < 3; i++) {
      old.add(fleet.startGreeter("v1", "v1-" + i));
    }
    // No build serves both required methods yet: each keeps its own (SayHello), SayHelloAgain fails closed.
    fleet.awaitGreeterDecision(d -> d.methodEndpoints().getOrDefault("SayHello", List.of()).size() == 3
        && d.methodEndpoints().getOrDefault("SayHelloAgain", List.of()).isEmpty(), Duration.ofSeconds(30));
    channel = XdsClients.channel(fleet.xdsPort(), "demo-greeter", "it-rolling-upgrade");
    await().atMost(Duration.ofSeconds(30)).until(() -> AlternatingCaller.run(channel, 1, 2_000).count(Status.Code.OK) == 1);

    List<TrafficRecorder.Call> calls;
    try (TrafficRecorder traffic = new TrafficRecorder(channel, Duration.ofMillis(5))) {
      for (int i = 0; i < 3; i++) {
        ProtomatchProcess replacement = fleet.startGreeter("v2", "v2-" + i);
        EndpointAddress added = new EndpointAddress("127.0.0.1", replacement.port());
        fleet.awaitGreeterDecision(d -> addresses(d.included()).contains(added), Duration.ofSeconds(30));
        String instance = "v2-" + i;
        await().atMost(Duration.ofSeconds(30)).until(() -> traffic.answeredBy(instance) > 0);
        EndpointAddress retired = new EndpointAddress("127.0.0.1", old.get(i).port());
        old.get(i).terminate(Duration.ofSeconds(20)); // SIGTERM: deregisters, drains, stops
        fleet.awaitGreeterDecision(d -> !addresses(d.included()).contains(retired)
            && d.excluded().stream().noneMatch(e -> e.address().equals(retired)), Duration.ofSeconds(30));
      }
      Thread.sleep(500);
      calls = traffic.stop();
    }

    Reports.append("rolling-upgrade", "v1 -> v2, 3 instances, one at a time: " + calls.size() + " calls; SayHello "
        + TrafficRecorder.countByCode(calls, "SayHello") + "; SayHelloAgain "
        + TrafficRecorder.countByCode(calls, "SayHelloAgain") + "; longest failure window "
        + TrafficRecorder.longestFailureWindow(calls).toMillis() + " ms");
    assertThat(TrafficRecorder.countByCode(calls, null)).doesNotContainKey(Status.Code.UNIMPLEMENTED);
    assertThat(TrafficRecorder.countByCode(calls, "SayHelloAgain").getOrDefault(Status.Code.OK, 0)).isPositive();
  }

  @Test
  void killedInstanceLeavesTheAssignmentAndTrafficCarriesOn() throws Exception {
    fleet.startGreeter("v2", "v2-a");
    ProtomatchProcess victim = fleet.startGreeter("v2", "v2-b");
    fleet.startGreeter("v2", "v2-c");
    fleet.awaitGreeterDecision(d -> d.included().size() == 3, Duration.ofSeconds(30));
    channel = XdsClients.channel(fleet.xdsPort(), "demo-greeter", "it-kill-9");
    await().atMost(Duration.ofSeconds(30)).until(() -> AlternatingCaller.run(channel, 1, 2_000).count(Status.Code.OK) == 1);
    EndpointAddress killed = new EndpointAddress("127.0.0.1", victim.port());

    List<TrafficRecorder.Call> calls;
    try (TrafficRecorder traffic = new TrafficRecorder(channel, Duration.ofMillis(5))) {
      await().atMost(Duration.ofSeconds(30)).until(() -> traffic.answeredBy("v2-b") > 0);
      victim.killForcibly();
      ServiceDecision after = fleet.awaitGreeterDecision(d -> !addresses(d.included()).contains(killed),
          Duration.ofSeconds(30));
      assertThat(after.included()).hasSize(2);
      Thread.sleep(1_000);
      calls = traffic.stop();
    }

    Duration window = TrafficRecorder.longestFailureWindow(calls);
    Reports.append("kill-9", "SIGKILL of 1 of 3 v2 instances under traffic: " + calls.size() + " calls "
        + TrafficRecorder.countByCode(calls, null) + "; longest window of failed calls " + window.toMillis() + " ms");
    assertThat(TrafficRecorder.countByCode(calls, null)).doesNotContainKey(Status.Code.UNIMPLEMENTED);
  }

  private static List<EndpointAddress> addresses(List<RoutableEndpoint> endpoints) {
    return endpoints.stream().map(RoutableEndpoint::address).toList();
  }
}
