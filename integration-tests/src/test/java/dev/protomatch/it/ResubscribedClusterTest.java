package dev.protomatch.it;

import static org.assertj.core.api.Assertions.assertThat;

import dev.protomatch.demo.ProtomatchProcess;
import dev.protomatch.demo.v3.GreeterGrpc;
import dev.protomatch.demo.v3.HelloRequest;
import dev.protomatch.testing.Fingerprints;
import dev.protomatch.testing.XdsClients;
import io.grpc.ManagedChannel;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import java.time.Duration;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/**
 * The only build a pin admits dies and comes back: the routes go to the service's empty cluster and back to the
 * build's cluster, which stayed published meanwhile (retention) with the same content, so the CDS version
 * never changes. A grpc-java client that dropped the cluster while routes left it subscribes to it again and must
 * be sent it then, not only when the CDS version next changes.
 */
class ResubscribedClusterTest {
  private String lastFailure;

  @Test
  void aClientSubscribingAgainToAClusterItDroppedIsSentIt() throws Exception {
    try (Fleet fleet = Fleet.start(WarmupPolicySwitchTest.policy("expect:\n      api: "
        + Fingerprints.greeterV2().api().value()))) {
      ProtomatchProcess v2 = fleet.startGreeter("v2", "v2-a");
      fleet.awaitGreeterDecision(d -> d.included().size() == 1, Duration.ofSeconds(30));
      ManagedChannel channel = XdsClients.channel(fleet.xdsPort(), "demo-greeter", "it-resubscribe");
      try {
        assertThat(firstOk(channel, Duration.ofSeconds(15))).as("reached v2 at first").isNotNegative();
        v2.killForcibly();
        fleet.awaitGreeterDecision(d -> d.included().isEmpty(), Duration.ofSeconds(30));
        // Until the client has the routes to the empty cluster and has dropped v2's.
        long until = System.nanoTime() + Duration.ofSeconds(2).toNanos();
        while (System.nanoTime() < until) {
          call(channel);
          Thread.sleep(20);
        }
        fleet.startGreeter("v2", "v2-b");
        fleet.awaitGreeterDecision(d -> d.included().size() == 1, Duration.ofSeconds(30));
        long back = firstOk(channel, Duration.ofSeconds(10));
        Reports.append("resubscribe", "v2 died and came back under an api pin: grpc-java reached it again "
            + (back < 0 ? "never (10 s; last failure " + lastFailure + ")" : back + " ms after it was admitted again"));
        assertThat(back).as("reached v2 within 10 s of its return (last failure: %s)", lastFailure).isNotNegative();
      } finally {
        channel.shutdownNow();
      }
    }
  }

  /** Milliseconds until the first OK call, or -1 if none within {@code timeout}. */
  private long firstOk(ManagedChannel channel, Duration timeout) throws InterruptedException {
    long start = System.nanoTime();
    while (System.nanoTime() - start < timeout.toNanos()) {
      if (call(channel) == Status.Code.OK) {
        return (System.nanoTime() - start) / 1_000_000;
      }
      Thread.sleep(20);
    }
    return -1;
  }

  private Status.Code call(ManagedChannel channel) {
    try {
      GreeterGrpc.newBlockingStub(channel).withDeadlineAfter(500, TimeUnit.MILLISECONDS)
          .sayHello(HelloRequest.newBuilder().setName("resubscribe").build());
      return Status.Code.OK;
    } catch (StatusRuntimeException e) {
      lastFailure = e.getStatus().toString();
      return e.getStatus().getCode();
    }
  }
}
