package dev.protomatch.it;

import dev.protomatch.it.slow.HoldReply;
import dev.protomatch.it.slow.HoldRequest;
import dev.protomatch.it.slow.SlowGrpc;
import io.grpc.Channel;
import io.grpc.Status;
import io.grpc.stub.StreamObserver;
import java.util.ArrayList;
import java.util.EnumMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;

/**
 * Keeps {@code concurrency} Hold calls of {@code holdMillis} in flight over one channel until stopped, so that
 * an instance killed at any moment has calls in progress. Outcomes are counted by status code, OK replies by
 * the instance that answered, and the first few failures are kept as text. The counters are guarded by
 * {@code this} (written from gRPC's callback threads, read by the test).
 */
final class HoldLoad {
  private static final int KEPT_FAILURES = 5;

  private final SlowGrpc.SlowStub stub;
  private final HoldRequest request;
  private final Semaphore slots;
  private final int concurrency;
  private final Thread thread;
  private final Map<Status.Code, Integer> codes = new EnumMap<>(Status.Code.class);
  private final Map<String, Integer> answeredBy = new TreeMap<>();
  private final List<String> failures = new ArrayList<>();
  private volatile boolean running = true;

  HoldLoad(Channel channel, int concurrency, int holdMillis) {
    this.stub = SlowGrpc.newStub(channel);
    this.request = HoldRequest.newBuilder().setMillis(holdMillis).build();
    this.concurrency = concurrency;
    this.slots = new Semaphore(concurrency);
    this.thread = new Thread(this::run, "hold-load");
    thread.start();
  }

  private void run() {
    while (running) {
      try {
        if (!slots.tryAcquire(100, TimeUnit.MILLISECONDS)) {
          continue;
        }
      } catch (InterruptedException e) {
        return;
      }
      stub.withDeadlineAfter(10, TimeUnit.SECONDS).hold(request, new StreamObserver<>() {
        @Override
        public void onNext(HoldReply reply) {
          synchronized (HoldLoad.this) {
            answeredBy.merge(reply.getInstance(), 1, Integer::sum);
          }
        }

        @Override
        public void onError(Throwable t) {
          Status status = Status.fromThrowable(t);
          synchronized (HoldLoad.this) {
            codes.merge(status.getCode(), 1, Integer::sum);
            if (failures.size() < KEPT_FAILURES) {
              failures.add(status.getCode() + ": " + status.getDescription());
            }
          }
          slots.release();
        }

        @Override
        public void onCompleted() {
          synchronized (HoldLoad.this) {
            codes.merge(Status.Code.OK, 1, Integer::sum);
          }
          slots.release();
        }
      });
    }
  }

  synchronized int answeredBy(String instance) {
    return answeredBy.getOrDefault(instance, 0);
  }

  /** Stops starting calls and waits (up to 15 s) for those in flight to end. */
  void stop() throws InterruptedException {
    running = false;
    thread.join(5_000);
    if (!slots.tryAcquire(concurrency, 15, TimeUnit.SECONDS)) {
      throw new AssertionError("calls still in flight 15 s after the load stopped");
    }
  }

  synchronized Map<Status.Code, Integer> codes() {
    return new EnumMap<>(codes);
  }

  synchronized Map<String, Integer> answeredBy() {
    return new TreeMap<>(answeredBy);
  }

  synchronized List<String> failures() {
    return List.copyOf(failures);
  }
}
