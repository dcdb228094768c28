package dev.protomatch.it;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.google.common.util.concurrent.ListenableFuture;
import dev.protomatch.it.slow.HoldReply;
import dev.protomatch.it.slow.HoldRequest;
import dev.protomatch.it.slow.SlowGrpc;
import dev.protomatch.it.slow.TickReply;
import dev.protomatch.it.slow.TickRequest;
import dev.protomatch.testing.XdsClients;
import io.grpc.ManagedChannel;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.stub.StreamObserver;
import java.time.Duration;
import java.util.ArrayList;
import java.util.EnumMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * Long calls and many concurrent calls through grpc-java's xDS client ({@code xds:///it-slow}) to a
 * registered protomatch.it.Slow server (issue 13, item 7): a 20 s server stream and a 16 s unary call,
 * both without a caller deadline, succeed (no published route setting, such as a max_stream_duration that
 * grpc-java applies under gRFC A31, may cut them); a caller's 1 s deadline ends its call with
 * DEADLINE_EXCEEDED (elapsed time and whether the server saw the cancellation are reported, not asserted);
 * 1,500 concurrent calls over one channel all succeed (a regression guard: grpc-java applies no 1,024
 * default here, see the design notes).
 */
class LongCallsTest {
  private static final int CONCURRENT_CALLS = 1_500;
  private static Fleet fleet;
  private static SlowServer server;
  private static ManagedChannel channel;

  @BeforeAll
  static void start() throws Exception {
    fleet = Fleet.start(SlowPolicy.yaml());
    server = SlowServer.start("slow-a", fleet.registrationPort(), fleet.registrationToken(), 3);
    await().atMost(Duration.ofSeconds(30))
        .until(() -> PublishedXds.assignedPorts(fleet.controlPlane(), SlowPolicy.CLUSTER).contains(server.port()));
    channel = XdsClients.channel(fleet.xdsPort(), SlowPolicy.CLUSTER, "it-long-calls");
    SlowGrpc.SlowBlockingStub stub = SlowGrpc.newBlockingStub(channel);
    await().atMost(Duration.ofSeconds(30)).ignoreExceptions().until(() ->
        !stub.withDeadlineAfter(2, TimeUnit.SECONDS).hold(HoldRequest.getDefaultInstance()).getInstance().isEmpty());
  }

  @AfterAll
  static void stop() {
    if (channel != null) {
      channel.shutdownNow();
    }
    if (server != null) {
      server.close();
    }
    if (fleet != null) {
      fleet.close();
    }
  }

  @Test
  void twentySecondStreamAndSixteenSecondUnaryCallSucceedWithoutDeadline() throws Exception {
    long start = System.nanoTime();
    TickCollector ticks = new TickCollector(start);
    SlowGrpc.newStub(channel).tick(TickRequest.newBuilder().setCount(21).setIntervalMs(1_000).build(), ticks);
    ListenableFuture<HoldReply> unary = SlowGrpc.newFutureStub(channel)
        .hold(HoldRequest.newBuilder().setMillis(16_000).build());
    long unaryEnd;
    Status unaryStatus;
    try {
      unary.get(60, TimeUnit.SECONDS);
      unaryStatus = Status.OK;
    } catch (ExecutionException e) {
      unaryStatus = Status.fromThrowable(e.getCause());
    } finally {
      unaryEnd = System.nanoTime();
    }
    Status streamStatus = ticks.done.get(60, TimeUnit.SECONDS);

    Reports.append("data-plane-real-clients", "grpc-java xds:///: server stream Tick(21 x 1 s) without deadline -> "
        + streamStatus.getCode() + " after " + ticks.replies + " replies in " + millis(start, ticks.end) + " ms; "
        + "unary Hold(16 s) without deadline -> " + unaryStatus.getCode() + " in " + millis(start, unaryEnd) + " ms");
    assertThat(streamStatus.getCode()).as(streamStatus.toString()).isEqualTo(Status.Code.OK);
    assertThat(ticks.replies).isEqualTo(21);
    assertThat(unaryStatus.getCode()).as(unaryStatus.toString()).isEqualTo(Status.Code.OK);
  }

  @Test
  void callersOneSecondDeadlineEndsTheCallWithDeadlineExceeded() {
    int cancelledBefore = server.service().cancelled();
    long start = System.nanoTime();
    Status status = Status.OK;
    try {
      SlowGrpc.newBlockingStub(channel).withDeadlineAfter(1, TimeUnit.SECONDS)
          .hold(HoldRequest.newBuilder().setMillis(5_000).build());
    } catch (StatusRuntimeException e) {
      status = e.getStatus();
    }
    long end = System.nanoTime();
    boolean serverSawCancel = awaitQuietly(() -> server.service().cancelled() > cancelledBefore, Duration.ofSeconds(5));

    Reports.append("data-plane-real-clients", "grpc-java xds:///: unary Hold(5 s) with a 1 s caller deadline -> "
        + status.getCode() + " after " + millis(start, end) + " ms; server saw the call cancelled: " + serverSawCancel);
    assertThat(status.getCode()).as(status.toString()).isEqualTo(Status.Code.DEADLINE_EXCEEDED);
  }

  @Test
  void fifteenHundredConcurrentCallsOverOneChannelAllSucceed() throws Exception {
    SlowGrpc.SlowFutureStub stub = SlowGrpc.newFutureStub(channel);
    HoldRequest request = HoldRequest.newBuilder().setMillis(2_000).build();
    long start = System.nanoTime();
    List<ListenableFuture<HoldReply>> calls = new ArrayList<>(CONCURRENT_CALLS);
    for (int i = 0; i < CONCURRENT_CALLS; i++) {
      calls.add(stub.withDeadlineAfter(60, TimeUnit.SECONDS).hold(request));
    }
    Map<Status.Code, Integer> codes = new EnumMap<>(Status.Code.class);
    for (ListenableFuture<HoldReply> call : calls) {
      Status.Code code;
      try {
        call.get(90, TimeUnit.SECONDS);
        code = Status.Code.OK;
      } catch (ExecutionException e) {
        code = Status.fromThrowable(e.getCause()).getCode();
      }
      codes.merge(code, 1, Integer::sum);
    }
    long end = System.nanoTime();

    Reports.append("data-plane-real-clients", "grpc-java xds:///: " + CONCURRENT_CALLS
        + " concurrent Hold(2 s) over one channel -> " + codes + " in " + millis(start, end)
        + " ms; most calls in progress at the server at once: " + server.service().peakInProgress());
    assertThat(codes).containsExactly(Map.entry(Status.Code.OK, CONCURRENT_CALLS));
  }

  private static long millis(long startNanos, long endNanos) {
    return TimeUnit.NANOSECONDS.toMillis(endNanos - startNanos);
  }

  private static boolean awaitQuietly(java.util.function.BooleanSupplier condition, Duration timeout) {
    long deadline = System.nanoTime() + timeout.toNanos();
    while (System.nanoTime() < deadline) {
      if (condition.getAsBoolean()) {
        return true;
      }
      try {
        Thread.sleep(20);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        return false;
      }
    }
    return condition.getAsBoolean();
  }

  /** Counts a stream's replies and completes with its final status. Written by gRPC's callback thread. */
  private static final class TickCollector implements StreamObserver<TickReply> {
    final CompletableFuture<Status> done = new CompletableFuture<>();
    volatile int replies;
    volatile long end;

    TickCollector(long start) {
      this.end = start;
    }

    @Override
    public void onNext(TickReply reply) {
      replies++;
    }

    @Override
    public void onError(Throwable t) {
      end = System.nanoTime();
      done.complete(Status.fromThrowable(t));
    }

    @Override
    public void onCompleted() {
      end = System.nanoTime();
      done.complete(Status.OK);
    }
  }
}
