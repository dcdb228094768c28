package dev.protomatch.it;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.fail;
import static org.awaitility.Awaitility.await;

import dev.protomatch.it.slow.HoldRequest;
import dev.protomatch.it.slow.SlowGrpc;
import dev.protomatch.server.ControlPlane;
import dev.protomatch.testing.XdsClients;
import io.grpc.ManagedChannel;
import io.grpc.Status;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/**
 * Issue 13, item 7: a {@code kill -9} of one of three protomatch.it.Slow processes under traffic from
 * grpc-java's xDS client gives fewer failed calls when the routes carry protomatch's default retry policy
 * than when the policy file turns retries off for the service ({@code retries: {enabled: false}}). The same harness runs
 * twice, once per policy: 30 Hold(300 ms) calls kept in flight over one channel, one instance killed
 * while it has calls in progress, traffic kept up until the killed instance has left the published
 * assignment (its 3 s lease lapsed or its probe failed) and one second more. Both counts go to
 * target/reports/retries-kill-9.txt; the comparison is asserted only if the default routes carry a retry
 * policy, and the test fails saying so when they do not.
 */
class RetryOnKillTest {
  private static final int CONCURRENCY = 30;
  private static final int HOLD_MILLIS = 300;
  private static final String VICTIM = "slow-b";

  record Run(String label, String refusedPolicy, Map<Status.Code, Integer> codes, Map<String, Integer> answeredBy,
             List<String> failures, long killToUnassignedMillis, List<String> retryPolicies) {
    int calls() {
      return codes.values().stream().mapToInt(Integer::intValue).sum();
    }

    int failed() {
      return calls() - codes.getOrDefault(Status.Code.OK, 0);
    }

    String describe() {
      return label + ": " + calls() + " calls, " + failed() + " failed " + codes + "; OK by instance " + answeredBy
          + "; killed instance left the assignment " + killToUnassignedMillis + " ms after the kill; route retry "
          + "policies " + (retryPolicies.isEmpty() ? "none" : retryPolicies)
          + (refusedPolicy.isEmpty() ? "" : "; the policy with 'retries: {enabled: false}' was refused (" + refusedPolicy
              + "), so this run used the default policy")
          + (failures.isEmpty() ? "" : "; first failures " + failures);
    }
  }

  @Test
  void killNineUnderTrafficFailsFewerCallsWithRetriesThanWithout() throws Exception {
    Run off = runWithFallback("retries off", SlowPolicy.yaml("retries: {enabled: false}"));
    Run on = run("retries default", SlowPolicy.yaml(), "");
    String summary = "kill -9 of 1 of 3 under " + CONCURRENCY + " concurrent Hold(" + HOLD_MILLIS + " ms), grpc-java "
        + "xds:///: failed calls with retries off " + off.failed() + "/" + off.calls() + ", with the default "
        + on.failed() + "/" + on.calls();
    Reports.append("retries-kill-9", off.describe());
    Reports.append("retries-kill-9", on.describe());
    Reports.append("retries-kill-9", summary);

    if (on.retryPolicies().isEmpty()) {
      fail("routes carry no retry policy: the default policy published routes for " + SlowPolicy.CLUSTER
          + " without one, so retries cannot reduce failures (" + summary + ")");
    }
    if (!off.refusedPolicy().isEmpty()) {
      fail("the control plane refused the policy with 'retries: {enabled: false}', so the off run had the default routes: "
          + off.refusedPolicy());
    }
    assertThat(off.retryPolicies()).as("routes published with 'retries: {enabled: false}' still carry a retry policy").isEmpty();
    assertThat(on.failed()).as(summary).isLessThan(off.failed());
  }

  /**
   * The run with {@code policy}; if the control plane refuses that policy (a parser without the 'retries'
   * key), the same run with the default one, marked with the refusal.
   */
  private static Run runWithFallback(String label, String policy) throws Exception {
    try {
      return run(label, policy, "");
    } catch (ControlPlane.InvalidPolicyException e) {
      return run(label, SlowPolicy.yaml(), e.errors().toString());
    }
  }

  private static Run run(String label, String policy, String refusedPolicy) throws Exception {
    try (Fleet fleet = Fleet.start(policy)) {
      List<SlowServerProcess> servers = startServers(fleet, List.of("slow-a", VICTIM, "slow-c"));
      ManagedChannel channel = XdsClients.channel(fleet.xdsPort(), SlowPolicy.CLUSTER, "it-retries-" + label.replace(' ', '-'));
      try {
        Set<Integer> ports = new HashSet<>();
        servers.forEach(server -> ports.add(server.port()));
        await().atMost(Duration.ofSeconds(30))
            .until(() -> PublishedXds.assignedPorts(fleet.controlPlane(), SlowPolicy.CLUSTER).containsAll(ports));
        awaitAnswersFromAll(channel, 3);

        HoldLoad load = new HoldLoad(channel, CONCURRENCY, HOLD_MILLIS);
        long killToUnassigned;
        try {
          await().atMost(Duration.ofSeconds(20)).until(() -> load.answeredBy(VICTIM) >= CONCURRENCY);
          SlowServerProcess victim = servers.get(1);
          long killed = System.nanoTime();
          victim.killForcibly();
          await().atMost(Duration.ofSeconds(20)).pollInterval(Duration.ofMillis(20))
              .until(() -> !PublishedXds.assignedPorts(fleet.controlPlane(), SlowPolicy.CLUSTER).contains(victim.port()));
          killToUnassigned = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - killed);
          Thread.sleep(1_000);
        } finally {
          load.stop();
        }
        List<String> retryPolicies = PublishedXds.routes(fleet.controlPlane(), SlowPolicy.CLUSTER)
            .map(PublishedXds::retryPolicies).orElse(List.of());
        return new Run(label, refusedPolicy, load.codes(), load.answeredBy(), load.failures(), killToUnassigned,
            retryPolicies);
      } finally {
        channel.shutdownNow();
        servers.forEach(SlowServerProcess::close);
      }
    }
  }

  /** Starts the processes side by side (each is a JVM starting up). */
  private static List<SlowServerProcess> startServers(Fleet fleet, List<String> instances) {
    List<CompletableFuture<SlowServerProcess>> starting = new ArrayList<>();
    for (String instance : instances) {
      starting.add(CompletableFuture.supplyAsync(() -> {
        try {
          return SlowServerProcess.start(instance, fleet.registrationPort(), fleet.registrationToken(), 3, fleet.log());
        } catch (IOException e) {
          throw new UncheckedIOException(e);
        }
      }));
    }
    List<SlowServerProcess> started = new ArrayList<>();
    try {
      for (CompletableFuture<SlowServerProcess> server : starting) {
        started.add(server.join());
      }
      return started;
    } catch (RuntimeException e) {
      started.forEach(SlowServerProcess::close);
      starting.forEach(future -> future.thenAccept(SlowServerProcess::close));
      throw e;
    }
  }

  /** Calls until {@code count} distinct instances have answered, so the client holds every endpoint. */
  private static void awaitAnswersFromAll(ManagedChannel channel, int count) {
    SlowGrpc.SlowBlockingStub stub = SlowGrpc.newBlockingStub(channel);
    Set<String> seen = new HashSet<>();
    await().atMost(Duration.ofSeconds(30)).ignoreExceptions().until(() -> {
      seen.add(stub.withDeadlineAfter(2, TimeUnit.SECONDS).hold(HoldRequest.getDefaultInstance()).getInstance());
      return seen.size() == count;
    });
  }
}
