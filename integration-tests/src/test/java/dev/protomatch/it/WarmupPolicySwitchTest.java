package dev.protomatch.it;

import static org.assertj.core.api.Assertions.assertThat;

import dev.protomatch.demo.v3.GreeterGrpc;
import dev.protomatch.demo.v3.HelloRequest;
import dev.protomatch.testing.Fingerprints;
import dev.protomatch.testing.XdsClients;
import io.grpc.ManagedChannel;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import java.time.Duration;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * A policy change that lands while a restarted control plane is still warming up: a grpc-java xDS client
 * that connects during the warm-up must reach the admitted build soon after the first publication.
 */
class WarmupPolicySwitchTest {
  private static Fleet fleet;
  private static final java.util.Map<ManagedChannel, String> lastFailure = new java.util.concurrent.ConcurrentHashMap<>();

  @BeforeAll
  static void startFleet() throws Exception {
    fleet = Fleet.start(policy("expect:\n      methods: [SayHello]"));
    fleet.startGreeter("v1", "v1-a");
    fleet.startGreeter("v2", "v2-a");
    fleet.startGreeter("v3", "v3-a");
    fleet.awaitGreeterDecision(d -> d.included().size() == 3, Duration.ofSeconds(30));
  }

  @AfterAll
  static void stopFleet() {
    fleet.close();
  }

  @Test
  void clientConnectingDuringWarmupReachesThePinnedBuild() throws Exception {
    ManagedChannel old = XdsClients.channel(fleet.xdsPort(), "demo-greeter", "it-warmup-old");
    long until = System.nanoTime() + Duration.ofSeconds(20).toNanos();
    while (call(old) != Status.Code.OK && System.nanoTime() < until) {
      Thread.sleep(50);
    }
    fleet.stopControlPlane();
    fleet.restartControlPlane();
    fleet.applyPolicy(policy("expect:\n      api: " + Fingerprints.greeterV2().api().value()), Duration.ofSeconds(10));
    assertThat(fleet.controlPlane().isReady()).as("policy applied during the warm-up").isFalse();
    ManagedChannel fresh = XdsClients.channel(fleet.xdsPort(), "demo-greeter", "it-warmup-fresh");
    long start = System.nanoTime();
    while (!fleet.controlPlane().isReady()) {
      call(fresh);
      call(old);
      Thread.sleep(20);
    }
    long published = System.nanoTime();
    long freshOk = -1;
    long oldOk = -1;
    int calls = 0;
    long deadline = published + Duration.ofSeconds(15).toNanos();
    while ((freshOk < 0 || oldOk < 0) && System.nanoTime() < deadline) {
      calls++;
      if (freshOk < 0 && call(fresh) == Status.Code.OK) {
        freshOk = System.nanoTime();
      }
      if (oldOk < 0 && call(old) == Status.Code.OK) {
        oldOk = System.nanoTime();
      }
      Thread.sleep(20);
    }
    Reports.append("warmup-switch", "policy switched to an api pin during the warm-up; after the first publication: "
        + "fresh client first OK after " + ms(freshOk, published) + ", client from before the restart after "
        + ms(oldOk, published) + " (" + calls + " rounds; warm-up left " + (published - start) / 1_000_000 + " ms)");
    Reports.append("warmup-switch", "last failure seen by the fresh client: " + lastFailure.get(fresh)
        + "; by the client from before the restart: " + lastFailure.get(old));
    fresh.shutdownNow();
    old.shutdownNow();
    assertThat(freshOk).as("fresh client reached v2 within 15 s of the first publication").isPositive();
    assertThat(oldOk).as("client from before the restart reached v2 within 15 s of the first publication").isPositive();
  }

  private static String ms(long at, long from) {
    return at < 0 ? "never (15 s)" : (at - from) / 1_000_000 + " ms";
  }

  private static Status.Code call(ManagedChannel channel) {
    try {
      GreeterGrpc.newBlockingStub(channel).withDeadlineAfter(500, TimeUnit.MILLISECONDS)
          .sayHello(HelloRequest.newBuilder().setName("warmup").build());
      return Status.Code.OK;
    } catch (StatusRuntimeException e) {
      lastFailure.put(channel, e.getStatus().toString());
      return e.getStatus().getCode();
    }
  }

  static String policy(String expect) {
    return Fleet.policy("demo.Greeter", "demo-greeter", expect);
  }
}
