package dev.protomatch.it;

import dev.protomatch.demo.v2.HelloReply;
import dev.protomatch.demo.v2.HelloRequest;
import io.grpc.CallOptions;
import io.grpc.Channel;
import io.grpc.ClientCall;
import io.grpc.ClientInterceptor;
import io.grpc.ClientInterceptors;
import io.grpc.ForwardingClientCall;
import io.grpc.ForwardingClientCallListener;
import io.grpc.Grpc;
import io.grpc.Metadata;
import io.grpc.MethodDescriptor;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.protobuf.ProtoUtils;
import io.grpc.stub.ClientCalls;
import java.net.InetSocketAddress;
import java.net.SocketAddress;
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
import java.util.concurrent.atomic.AtomicReference;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * What real calls to demo.Greeter found, per method: the endpoints (addresses) that answered OK, the endpoints the
 * calls reached whatever they answered (read from the call's transport: the peer address), and how many calls
 * ended with each status code. Methods are called by name with v2's request and reply types, so a method no build
 * has (a misspelt one) can be called too. The answering instance is read from the reply ({@code "... from NAME
 * (BUILD)"}, see DemoGreeters) and mapped to its address by the caller's {@code addresses}.
 *
 * @param answeredBy per method called, the addresses that answered it (empty: no call succeeded)
 * @param reachedBy per method called, the addresses its calls were routed to, answering OK or not (under fail-open a
 *     build without the method answers UNIMPLEMENTED)
 * @param codes per method called, calls by status code
 */
record RoutedTraffic(SortedMap<String, SortedSet<String>> answeredBy,
                     SortedMap<String, SortedSet<String>> reachedBy,
                     SortedMap<String, Map<Status.Code, Integer>> codes) {
  private static final Pattern ANSWERED_BY = Pattern.compile(" from (\\S+) \\(");

  RoutedTraffic {
    SortedMap<String, SortedSet<String>> answered = new TreeMap<>();
    answeredBy.forEach((method, addresses) -> answered.put(method, Collections.unmodifiableSortedSet(
        new TreeSet<>(addresses))));
    answeredBy = Collections.unmodifiableSortedMap(answered);
    SortedMap<String, SortedSet<String>> reached = new TreeMap<>();
    reachedBy.forEach((method, addresses) -> reached.put(method, Collections.unmodifiableSortedSet(
        new TreeSet<>(addresses))));
    reachedBy = Collections.unmodifiableSortedMap(reached);
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
    SortedMap<String, SortedSet<String>> reachedBy = new TreeMap<>();
    SortedMap<String, Map<Status.Code, Integer>> codes = new TreeMap<>();
    AtomicReference<SocketAddress> peer = new AtomicReference<>();
    Channel observed = ClientInterceptors.intercept(channel, new PeerRecorder(peer));
    for (String method : methods) {
      SortedSet<String> answered = new TreeSet<>();
      SortedSet<String> reached = new TreeSet<>();
      Map<Status.Code, Integer> byCode = new EnumMap<>(Status.Code.class);
      MethodDescriptor<HelloRequest, HelloReply> descriptor = MethodDescriptor.<HelloRequest, HelloReply>newBuilder()
          .setType(MethodDescriptor.MethodType.UNARY)
          .setFullMethodName(MethodDescriptor.generateFullMethodName("demo.Greeter", method))
          .setRequestMarshaller(ProtoUtils.marshaller(HelloRequest.getDefaultInstance()))
          .setResponseMarshaller(ProtoUtils.marshaller(HelloReply.getDefaultInstance()))
          .build();
      for (int i = 0; i < callsPerMethod; i++) {
        Status.Code code = Status.Code.OK;
        peer.set(null);
        try {
          HelloReply reply = ClientCalls.blockingUnaryCall(observed, descriptor,
              CallOptions.DEFAULT.withDeadlineAfter(2, TimeUnit.SECONDS),
              HelloRequest.newBuilder().setName("views-" + i).build());
          Matcher matcher = ANSWERED_BY.matcher(reply.getMessage());
          String instance = matcher.find() ? matcher.group(1) : "";
          answered.add(addresses.getOrDefault(instance, "unknown instance '" + instance + "'"));
        } catch (StatusRuntimeException e) {
          code = e.getStatus().getCode();
        }
        if (peer.get() instanceof InetSocketAddress address) {
          reached.add(address.getAddress().getHostAddress() + ":" + address.getPort());
        }
        byCode.merge(code, 1, Integer::sum);
      }
      answeredBy.put(method, answered);
      reachedBy.put(method, reached);
      codes.put(method, byCode);
    }
    return new RoutedTraffic(answeredBy, reachedBy, codes);
  }

  /** Records the peer each call was sent to, once the call is closed (the transport's remote address). */
  private record PeerRecorder(AtomicReference<SocketAddress> peer) implements ClientInterceptor {
    @Override
    public <Q, R> ClientCall<Q, R> interceptCall(MethodDescriptor<Q, R> method, CallOptions options, Channel next) {
      return new ForwardingClientCall.SimpleForwardingClientCall<>(next.newCall(method, options)) {
        @Override
        public void start(Listener<R> listener, Metadata headers) {
          ClientCall<Q, R> call = delegate();
          super.start(new ForwardingClientCallListener.SimpleForwardingClientCallListener<>(listener) {
            @Override
            public void onClose(Status status, Metadata trailers) {
              peer.set(call.getAttributes().get(Grpc.TRANSPORT_ATTR_REMOTE_ADDR));
              super.onClose(status, trailers);
            }
          }, headers);
        }
      };
    }
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

  /** Every address some call reached. */
  SortedSet<String> reachedEndpoints() {
    SortedSet<String> out = new TreeSet<>();
    reachedBy.values().forEach(out::addAll);
    return out;
  }

  /** The methods whose calls reached {@code address}. */
  SortedSet<String> methodsReaching(String address) {
    SortedSet<String> out = new TreeSet<>();
    reachedBy.forEach((method, addresses) -> {
      if (addresses.contains(address)) {
        out.add(method);
      }
    });
    return out;
  }

  /** The methods whose calls reached some endpoint. */
  SortedSet<String> reachedMethods() {
    SortedSet<String> out = new TreeSet<>();
    reachedBy.forEach((method, addresses) -> {
      if (!addresses.isEmpty()) {
        out.add(method);
      }
    });
    return out;
  }

  /** Whether both saw the same endpoints answer each method and the same status codes (counts aside). */
  boolean sameRouting(RoutedTraffic other) {
    if (!answeredBy.equals(other.answeredBy) || !reachedBy.equals(other.reachedBy)
        || !codes.keySet().equals(other.codes.keySet())) {
      return false;
    }
    return codes.entrySet().stream().allMatch(e -> e.getValue().keySet().equals(other.codes.get(e.getKey()).keySet()));
  }
}
