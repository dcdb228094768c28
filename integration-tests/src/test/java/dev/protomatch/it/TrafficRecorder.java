package dev.protomatch.it;

import dev.protomatch.demo.v2.GreeterGrpc;
import dev.protomatch.demo.v2.HelloReply;
import dev.protomatch.demo.v2.HelloRequest;
import io.grpc.Channel;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.EnumMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Continuous traffic for the length of a scenario: SayHello and SayHelloAgain alternately, one call at a
 * time, every outcome recorded with its time and the instance that answered.
 */
final class TrafficRecorder implements AutoCloseable {
  private static final Pattern ANSWERED_BY = Pattern.compile(" from (\\S+) \\(");

  record Call(long startNanos, long endNanos, String method, Status.Code code, String answeredBy) {}

  private final GreeterGrpc.GreeterBlockingStub stub;
  private final Duration pause;
  private final List<Call> calls = new ArrayList<>();
  private final Thread thread;
  private volatile boolean running = true;

  TrafficRecorder(Channel channel, Duration pause) {
    this.stub = GreeterGrpc.newBlockingStub(channel);
    this.pause = pause;
    this.thread = new Thread(this::run, "traffic");
    thread.start();
  }

  private void run() {
    for (long i = 0; running; i++) {
      boolean again = i % 2 == 1;
      HelloRequest request = HelloRequest.newBuilder().setName("traffic-" + i).build();
      long start = System.nanoTime();
      Status.Code code = Status.Code.OK;
      String answeredBy = "";
      try {
        GreeterGrpc.GreeterBlockingStub call = stub.withDeadlineAfter(2, TimeUnit.SECONDS);
        HelloReply reply = again ? call.sayHelloAgain(request) : call.sayHello(request);
        Matcher matcher = ANSWERED_BY.matcher(reply.getMessage());
        answeredBy = matcher.find() ? matcher.group(1) : "";
      } catch (StatusRuntimeException e) {
        code = e.getStatus().getCode();
      }
      synchronized (calls) {
        calls.add(new Call(start, System.nanoTime(), again ? "SayHelloAgain" : "SayHello", code, answeredBy));
      }
      try {
        Thread.sleep(pause.toMillis());
      } catch (InterruptedException e) {
        return;
      }
    }
  }

  List<Call> calls() {
    synchronized (calls) {
      return List.copyOf(calls);
    }
  }

  /** Calls so far answered by {@code instance}. */
  long answeredBy(String instance) {
    return calls().stream().filter(c -> c.answeredBy().equals(instance)).count();
  }

  List<Call> stop() throws InterruptedException {
    running = false;
    thread.join(10_000);
    return calls();
  }

  static Map<Status.Code, Integer> countByCode(List<Call> calls, String method) {
    Map<Status.Code, Integer> counts = new EnumMap<>(Status.Code.class);
    calls.stream().filter(c -> method == null || c.method().equals(method))
        .forEach(c -> counts.merge(c.code(), 1, Integer::sum));
    return counts;
  }

  /** The longest stretch, first failed call's start to last failed call's end, with no successful call in between. */
  static Duration longestFailureWindow(List<Call> calls) {
    long longest = 0;
    Call firstFailure = null;
    Call lastFailure = null;
    for (Call call : calls) {
      if (call.code() != Status.Code.OK) {
        if (firstFailure == null) {
          firstFailure = call;
        }
        lastFailure = call;
        longest = Math.max(longest, lastFailure.endNanos() - firstFailure.startNanos());
      } else {
        firstFailure = null;
      }
    }
    return Duration.ofNanos(longest);
  }

  @Override
  public void close() throws InterruptedException {
    stop();
  }
}
