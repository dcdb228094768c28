package dev.protomatch.it;

import dev.protomatch.demo.v2.HelloReply;
import dev.protomatch.demo.v2.HelloRequest;
import io.grpc.CallOptions;
import io.grpc.Channel;
import io.grpc.MethodDescriptor;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.protobuf.ProtoUtils;
import io.grpc.stub.ClientCalls;
import java.util.Collection;
import java.util.Collections;
import java.util.EnumMap;
import java.util.Map;
import java.util.Set;
import java.util.SortedMap;
import java.util.SortedSet;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * What real calls to demo.Greeter found, per method: the endpoints (addresses) that answered OK, and how many calls
 * ended with each status code. Methods are called by name with v2's request and reply types, so a method no build
 * has (a misspelt one) can be called too. The answering instance is read from the reply ({@code "... from NAME
 * (BUILD)"}, see DemoGreeters) and mapped to its address by the caller's {@code addresses}.
 *
 * @param answeredBy per method called, the addresses that answered it (empty: no call succeeded)
 * @param codes per method called, calls by status code
 */
record RoutedTraffic(SortedMap<String, SortedSet<String>> answeredBy,
                     SortedMap<String, Map<Status.Code, Integer>> codes) {
  private static final Pattern ANSWERED_BY = Pattern.compile(" from (\\S+) \\(");

  RoutedTraffic {
    SortedMap<String, SortedSet<String>> answered = new TreeMap<>();
    answeredBy.forEach((method, addresses) -> answered.put(method, Collections.unmodifiableSortedSet(
        new TreeSet<>(addresses))));
    answeredBy = Collections.unmodifiableSortedMap(answered);
    SortedMap<String, Map<Status.Code, Integer>> counted = new TreeMap<>();
    codes.forEach((method, byCode) -> counted.put(method, Collections.unmodifiableMap(new EnumMap<>(byCode))));
    codes = Collections.unmodifiableSortedMap(counted);
  }

  /**
   * Calls each of {@code methods} {@code callsPerMethod} times, one call at a time, each with a 2 s deadline.
   *
   * @param addresses instance name (as replies name it) to the address it listens on
   */
  static RoutedTraffic observe(Channel channel, Collection<String> methods, int callsPerMethod,
                               Map<String, String> addresses) {
    SortedMap<String, SortedSet<String>> answeredBy = new TreeMap<>();
    SortedMap<String, Map<Status.Code, Integer>> codes = new TreeMap<>();
    for (String method : methods) {
      SortedSet<String> answered = new TreeSet<>();
      Map<Status.Code, Integer> byCode = new EnumMap<>(Status.Code.class);
      MethodDescriptor<HelloRequest, HelloReply> descriptor = MethodDescriptor.<HelloRequest, HelloReply>newBuilder()
          .setType(MethodDescriptor.MethodType.UNARY)
          .setFullMethodName(MethodDescriptor.generateFullMethodName("demo.Greeter", method))
          .setRequestMarshaller(ProtoUtils.marshaller(HelloRequest.getDefaultInstance()))
          .setResponseMarshaller(ProtoUtils.marshaller(HelloReply.getDefaultInstance()))
          .build();
      for (int i = 0; i < callsPerMethod; i++) {
        Status.Code code = Status.Code.OK;
        try {
          HelloReply reply = ClientCalls.blockingUnaryCall(channel, descriptor,
              CallOptions.DEFAULT.withDeadlineAfter(2, TimeUnit.SECONDS),
              HelloRequest.newBuilder().setName("views-" + i).build());
          Matcher matcher = ANSWERED_BY.matcher(reply.getMessage());
          String instance = matcher.find() ? matcher.group(1) : "";
          answered.add(addresses.getOrDefault(instance, "unknown instance '" + instance + "'"));
        } catch (StatusRuntimeException e) {
          code = e.getStatus().getCode();
        }
        byCode.merge(code, 1, Integer::sum);
      }
      answeredBy.put(method, answered);
      codes.put(method, byCode);
    }
    return new RoutedTraffic(answeredBy, codes);
  }

  /** The methods every call of which ended UNAVAILABLE: their calls fail closed. */
  SortedSet<String> failingClosed() {
    SortedSet<String> out = new TreeSet<>();
    codes.forEach((method, byCode) -> {
      if (byCode.keySet().equals(Set.of(Status.Code.UNAVAILABLE))) {
        out.add(method);
      }
    });
    return out;
  }

  /** Every address that answered some call. */
  SortedSet<String> answeringEndpoints() {
    SortedSet<String> out = new TreeSet<>();
    answeredBy.values().forEach(out::addAll);
    return out;
  }

  /** The methods {@code address} answered. */
  SortedSet<String> methodsAnsweredBy(String address) {
    SortedSet<String> out = new TreeSet<>();
    answeredBy.forEach((method, addresses) -> {
      if (addresses.contains(address)) {
        out.add(method);
      }
    });
    return out;
  }

  /** The methods some endpoint answered. */
  SortedSet<String> answeredMethods() {
    SortedSet<String> out = new TreeSet<>();
    answeredBy.forEach((method, addresses) -> {
      if (!addresses.isEmpty()) {
        out.add(method);
      }
    });
    return out;
  }

  /** Whether both saw the same endpoints answer each method and the same status codes (counts aside). */
  boolean sameRouting(RoutedTraffic other) {
    if (!answeredBy.equals(other.answeredBy) || !codes.keySet().equals(other.codes.keySet())) {
      return false;
    }
    return codes.entrySet().stream().allMatch(e -> e.getValue().keySet().equals(other.codes.get(e.getKey()).keySet()));
  }
}
