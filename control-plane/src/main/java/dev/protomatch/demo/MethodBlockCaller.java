package dev.protomatch.demo;

import dev.protomatch.demo.v2.GreeterGrpc;
import dev.protomatch.demo.v2.HelloReply;
import dev.protomatch.demo.v2.HelloRequest;
import io.grpc.CallOptions;
import io.grpc.Channel;
import io.grpc.ClientCall;
import io.grpc.ClientInterceptor;
import io.grpc.ForwardingClientCall;
import io.grpc.ForwardingClientCallListener;
import io.grpc.Grpc;
import io.grpc.Metadata;
import io.grpc.MethodDescriptor;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import java.net.InetSocketAddress;
import java.net.SocketAddress;
import java.util.EnumMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.SortedMap;
import java.util.TreeMap;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The demo client's calls: SayHello and SayHelloAgain (with the v2 stubs, as a client built against the new
 * API does) in alternating blocks of {@link #BLOCK} calls of one method, each outcome counted by method, by
 * the endpoint that answered and by status code.
 *
 * <p>Blocks, not strict alternation: over a round robin of two endpoints, calls alternating SayHello and
 * SayHelloAgain line up with the alternating endpoints, so each method may reach one build only, and a
 * baseline over an old and a new build shows no UNIMPLEMENTED half of the time. A block of {@code b}
 * consecutive calls of one method visits every endpoint of a round robin over at most {@code b} endpoints.
 * With fewer than {@code 2 * BLOCK} calls the blocks are {@code calls / 2} long, so both methods are called.
 *
 * <p>The endpoint is the remote address of the transport the call went out on
 * ({@link Grpc#TRANSPORT_ATTR_REMOTE_ADDR}), so it is known for refused calls too (UNIMPLEMENTED), and needs
 * nothing from the server; {@link #NO_ENDPOINT} when the call reached none (UNAVAILABLE while no endpoint is
 * picked). A reply naming its sender ({@code "... from NAME (BUILD)"}, as {@link DemoGreeters} answer) also
 * gives the endpoint's name.
 */
public final class MethodBlockCaller {
  /** Calls of one method in a row. */
  public static final int BLOCK = 8;
  public static final String SAY_HELLO = "SayHello";
  public static final String SAY_HELLO_AGAIN = "SayHelloAgain";
  /** The endpoint of calls that left on no transport. */
  public static final String NO_ENDPOINT = "(no endpoint)";
  private static final Pattern SENDER = Pattern.compile(" from (\\S+) \\(([^)]+)\\)$");

  /**
   * What one run counted.
   *
   * @param counts per method (SayHello, SayHelloAgain), per endpoint ({@code host:port} or {@link #NO_ENDPOINT}),
   *     the number of calls ending with each status code
   * @param names per endpoint, {@code NAME (BUILD)} as a reply from it said; endpoints that never replied are absent
   */
  public record Tally(int calls, SortedMap<String, SortedMap<String, Map<Status.Code, Integer>>> counts,
                      SortedMap<String, String> names) {
    /** Every call's status code. */
    public Map<Status.Code, Integer> byCode() {
      Map<Status.Code, Integer> total = new EnumMap<>(Status.Code.class);
      counts.values().forEach(byEndpoint -> byEndpoint.values().forEach(codes -> codes.forEach(
          (code, n) -> total.merge(code, n, Integer::sum))));
      return total;
    }

    /** The status codes of one method's calls (empty if it was not called). */
    public Map<Status.Code, Integer> byCode(String method) {
      Map<Status.Code, Integer> total = new EnumMap<>(Status.Code.class);
      counts.getOrDefault(method, new TreeMap<>()).values().forEach(codes -> codes.forEach(
          (code, n) -> total.merge(code, n, Integer::sum)));
      return total;
    }

    public int count(Status.Code code) {
      return byCode().getOrDefault(code, 0);
    }
  }

  private MethodBlockCaller() {}

  /** The method of call {@code index} (from 0) of a run of {@code calls}. */
  public static String methodOf(int index, int calls) {
    int block = Math.max(1, Math.min(BLOCK, calls / 2));
    return (index / block) % 2 == 0 ? SAY_HELLO : SAY_HELLO_AGAIN;
  }

  /** Makes {@code calls} calls one after another, each with its own deadline. */
  public static Tally run(Channel channel, int calls, long deadlineMillis) {
    SortedMap<String, SortedMap<String, Map<Status.Code, Integer>>> counts = new TreeMap<>();
    SortedMap<String, String> names = new TreeMap<>();
    for (int i = 0; i < calls; i++) {
      String method = methodOf(i, calls);
      RemoteAddress remote = new RemoteAddress();
      GreeterGrpc.GreeterBlockingStub stub = GreeterGrpc.newBlockingStub(channel).withInterceptors(remote)
          .withDeadlineAfter(deadlineMillis, TimeUnit.MILLISECONDS);
      HelloRequest request = HelloRequest.newBuilder().setName("caller-" + i).build();
      Status.Code code;
      Optional<String> sender = Optional.empty();
      try {
        HelloReply reply = method.equals(SAY_HELLO) ? stub.sayHello(request) : stub.sayHelloAgain(request);
        code = Status.Code.OK;
        sender = senderOf(reply.getMessage());
      } catch (StatusRuntimeException e) {
        code = e.getStatus().getCode();
      }
      String endpoint = remote.text();
      sender.ifPresent(name -> names.put(endpoint, name));
      counts.computeIfAbsent(method, m -> new TreeMap<>())
          .computeIfAbsent(endpoint, e -> new EnumMap<>(Status.Code.class))
          .merge(code, 1, Integer::sum);
    }
    return new Tally(calls, counts, names);
  }

  /** {@code NAME (BUILD)} from a reply ending {@code " from NAME (BUILD)"}. */
  static Optional<String> senderOf(String reply) {
    Matcher matcher = SENDER.matcher(reply);
    return matcher.find() ? Optional.of(matcher.group(1) + " (" + matcher.group(2) + ")") : Optional.empty();
  }

  /**
   * Remembers the remote address of the transport one call went out on. One instance per call; the call's
   * listener methods run one at a time (grpc's call executor), and the caller reads the address only after the
   * blocking call returned, so a volatile field is all the sharing there is.
   */
  private static final class RemoteAddress implements ClientInterceptor {
    private volatile SocketAddress address;

    @Override
    public <ReqT, RespT> ClientCall<ReqT, RespT> interceptCall(MethodDescriptor<ReqT, RespT> method,
                                                               CallOptions options, Channel next) {
      return new ForwardingClientCall.SimpleForwardingClientCall<>(next.newCall(method, options)) {
        @Override
        public void start(Listener<RespT> listener, Metadata headers) {
          super.start(new ForwardingClientCallListener.SimpleForwardingClientCallListener<>(listener) {
            @Override
            public void onHeaders(Metadata metadata) {
              remember();
              super.onHeaders(metadata);
            }

            @Override
            public void onClose(Status status, Metadata trailers) {
              remember();
              super.onClose(status, trailers);
            }
          }, headers);
        }

        private void remember() {
          SocketAddress remote = delegate().getAttributes().get(Grpc.TRANSPORT_ATTR_REMOTE_ADDR);
          if (remote != null) {
            address = remote;
          }
        }
      };
    }

    String text() {
      SocketAddress remote = address;
      if (remote instanceof InetSocketAddress inet) {
        String host = inet.getAddress() == null ? inet.getHostString() : inet.getAddress().getHostAddress();
        return (host.indexOf(':') >= 0 ? "[" + host + "]" : host) + ":" + inet.getPort();
      }
      return remote == null ? NO_ENDPOINT : remote.toString();
    }
  }

  /** The methods in the order they are reported. */
  public static List<String> methods() {
    return List.of(SAY_HELLO, SAY_HELLO_AGAIN);
  }
}
