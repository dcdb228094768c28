package dev.protomatch.it;

import dev.protomatch.it.slow.SlowGrpc;
import dev.protomatch.it.slow.TickReply;
import dev.protomatch.it.slow.TickRequest;
import dev.protomatch.it.slow.HoldReply;
import dev.protomatch.it.slow.HoldRequest;
import io.grpc.Context;
import io.grpc.Status;
import io.grpc.stub.ServerCallStreamObserver;
import io.grpc.stub.StreamObserver;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * protomatch.it.Slow: Hold answers after the asked delay, Tick streams the asked number of replies at the
 * asked interval. Delays run on the given scheduler, so thousands of waiting calls hold no thread. Counts
 * calls in progress and the peak of that count, and calls the caller cancelled before the answer (a
 * passed deadline cancels the call's context). The counters are atomics touched by gRPC's threads and the
 * scheduler.
 */
final class SlowService extends SlowGrpc.SlowImplBase {
  private final String instance;
  private final ScheduledExecutorService scheduler;
  private final AtomicInteger inProgress = new AtomicInteger();
  private final AtomicInteger peak = new AtomicInteger();
  private final AtomicInteger cancelled = new AtomicInteger();

  SlowService(String instance, ScheduledExecutorService scheduler) {
    this.instance = instance;
    this.scheduler = scheduler;
  }

  @Override
  public void hold(HoldRequest request, StreamObserver<HoldReply> responses) {
    started();
    Context context = Context.current();
    ScheduledFuture<?> answer = scheduler.schedule(() -> {
      finished();
      responses.onNext(HoldReply.newBuilder().setInstance(instance).build());
      responses.onCompleted();
    }, request.getMillis(), TimeUnit.MILLISECONDS);
    // The context is also cancelled after a normal answer; then the answer has run and cancel() is false.
    context.addListener(cancelledContext -> {
      if (answer.cancel(false)) {
        finished();
        cancelled.incrementAndGet();
      }
    }, Runnable::run);
  }

  @Override
  public void tick(TickRequest request, StreamObserver<TickReply> responses) {
    started();
    ServerCallStreamObserver<TickReply> call = (ServerCallStreamObserver<TickReply>) responses;
    Context context = Context.current();
    sendTick(request, call, context, 0);
  }

  private void sendTick(TickRequest request, ServerCallStreamObserver<TickReply> call, Context context, int index) {
    if (context.isCancelled()) {
      finished();
      cancelled.incrementAndGet();
      return;
    }
    if (index == request.getCount()) {
      finished();
      call.onCompleted();
      return;
    }
    try {
      call.onNext(TickReply.newBuilder().setIndex(index).setInstance(instance).build());
    } catch (RuntimeException e) { // the call was cancelled between the check and the send
      finished();
      cancelled.incrementAndGet();
      call.onError(Status.CANCELLED.withCause(e).asRuntimeException());
      return;
    }
    scheduler.schedule(() -> sendTick(request, call, context, index + 1), request.getIntervalMs(), TimeUnit.MILLISECONDS);
  }

  private void started() {
    peak.accumulateAndGet(inProgress.incrementAndGet(), Math::max);
  }

  private void finished() {
    inProgress.decrementAndGet();
  }

  /** The most calls that were in progress at once since start. */
  int peakInProgress() {
    return peak.get();
  }

  /** Calls that ended because the caller cancelled them (or their deadline passed) before the answer. */
  int cancelled() {
    return cancelled.get();
  }
}
