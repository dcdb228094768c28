package dev.protomatch.demo;

import dev.protomatch.demo.v2.GreeterGrpc;
import dev.protomatch.demo.v2.HelloRequest;
import io.grpc.Channel;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import java.util.EnumMap;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/**
 * The client of the field report: calls SayHello and SayHelloAgain alternately (with the v2 stubs, as a
 * client built against the new API does) and counts outcomes by status code. The same harness measures
 * the failure without protomatch's filtering and its absence with it.
 */
public final class AlternatingCaller {
  /** Outcome counts of one run. */
  public record Counts(int calls, Map<Status.Code, Integer> byCode) {
    public int count(Status.Code code) {
      return byCode.getOrDefault(code, 0);
    }

    @Override
    public String toString() {
      return calls + " calls: " + byCode;
    }
  }

  private AlternatingCaller() {}

  public static Counts run(Channel channel, int calls, long deadlineMillis) {
    GreeterGrpc.GreeterBlockingStub stub = GreeterGrpc.newBlockingStub(channel);
    Map<Status.Code, Integer> byCode = new EnumMap<>(Status.Code.class);
    for (int i = 0; i < calls; i++) {
      HelloRequest request = HelloRequest.newBuilder().setName("caller-" + i).build();
      Status.Code code;
      try {
        GreeterGrpc.GreeterBlockingStub withDeadline = stub.withDeadlineAfter(deadlineMillis, TimeUnit.MILLISECONDS);
        if (i % 2 == 0) {
          withDeadline.sayHello(request);
        } else {
          withDeadline.sayHelloAgain(request);
        }
        code = Status.Code.OK;
      } catch (StatusRuntimeException e) {
        code = e.getStatus().getCode();
      }
      byCode.merge(code, 1, Integer::sum);
    }
    return new Counts(calls, byCode);
  }
}
