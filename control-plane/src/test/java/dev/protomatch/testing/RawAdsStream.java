package dev.protomatch.testing;

import com.google.rpc.Code;
import io.envoyproxy.envoy.config.core.v3.Node;
import io.envoyproxy.envoy.service.discovery.v3.AggregatedDiscoveryServiceGrpc;
import io.envoyproxy.envoy.service.discovery.v3.DeltaDiscoveryRequest;
import io.envoyproxy.envoy.service.discovery.v3.DeltaDiscoveryResponse;
import io.envoyproxy.envoy.service.discovery.v3.DiscoveryRequest;
import io.envoyproxy.envoy.service.discovery.v3.DiscoveryResponse;
import io.grpc.Grpc;
import io.grpc.InsecureChannelCredentials;
import io.grpc.ManagedChannel;
import io.grpc.stub.StreamObserver;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;

/**
 * One raw ADS stream to a control plane on loopback, state of the world or delta, for tests that script the
 * protocol message by message: requests go out exactly as written, responses queue up in arrival order.
 *
 * <p>java-control-plane answers a request on the thread that handles it, so responses to requests sent in
 * order arrive in order: a response to a later request arriving first proves an earlier request was not
 * answered at once (the tests call such a later request a sentinel).
 */
public final class RawAdsStream<Q, R> implements AutoCloseable {
  public static final String CLUSTERS = "type.googleapis.com/envoy.config.cluster.v3.Cluster";
  public static final String ENDPOINTS = "type.googleapis.com/envoy.config.endpoint.v3.ClusterLoadAssignment";
  public static final String LISTENERS = "type.googleapis.com/envoy.config.listener.v3.Listener";
  public static final String ROUTES = "type.googleapis.com/envoy.config.route.v3.RouteConfiguration";
  private static final long PATIENCE_SECONDS = 20;

  private final ManagedChannel channel;
  private final BlockingQueue<Object> received = new LinkedBlockingQueue<>();
  private final StreamObserver<Q> requests;

  private RawAdsStream(ManagedChannel channel, boolean delta) {
    this.channel = channel;
    AggregatedDiscoveryServiceGrpc.AggregatedDiscoveryServiceStub stub = AggregatedDiscoveryServiceGrpc.newStub(channel);
    StreamObserver<Object> responses = new StreamObserver<>() {
      @Override
      public void onNext(Object response) {
        received.add(response);
      }

      @Override
      public void onError(Throwable t) {
        received.add(t);
      }

      @Override
      public void onCompleted() {
        received.add(new IllegalStateException("server completed the stream"));
      }
    };
    @SuppressWarnings({"unchecked", "rawtypes"})
    StreamObserver<Q> opened = delta ? stub.deltaAggregatedResources((StreamObserver) responses)
        : stub.streamAggregatedResources((StreamObserver) responses);
    this.requests = opened;
  }

  /** A state-of-the-world ADS stream to the control plane at {@code xdsPort}. */
  public static RawAdsStream<DiscoveryRequest, DiscoveryResponse> sotw(int xdsPort) {
    return new RawAdsStream<>(channel(xdsPort), false);
  }

  /** A delta (incremental) ADS stream to the control plane at {@code xdsPort}. */
  public static RawAdsStream<DeltaDiscoveryRequest, DeltaDiscoveryResponse> delta(int xdsPort) {
    return new RawAdsStream<>(channel(xdsPort), true);
  }

  public static Node node(String id, String userAgent) {
    return Node.newBuilder().setId(id).setCluster("protomatch-tests").setUserAgentName(userAgent).build();
  }

  /** The error detail of a NACK. */
  public static com.google.rpc.Status rejection(String message) {
    return com.google.rpc.Status.newBuilder().setCode(Code.INVALID_ARGUMENT_VALUE).setMessage(message).build();
  }

  private static ManagedChannel channel(int port) {
    return Grpc.newChannelBuilderForAddress("127.0.0.1", port, InsecureChannelCredentials.create()).build();
  }

  public void send(Q request) {
    synchronized (requests) {
      requests.onNext(request);
    }
  }

  /** The next response; fails if the stream ended or nothing came within a generous patience. */
  @SuppressWarnings("unchecked")
  public R next() throws InterruptedException {
    Object next = received.poll(PATIENCE_SECONDS, TimeUnit.SECONDS);
    if (next == null) {
      throw new AssertionError("no response within " + PATIENCE_SECONDS + " s");
    }
    if (next instanceof Throwable t) {
      throw new AssertionError("the stream ended", t);
    }
    return (R) next;
  }

  /**
   * The next response if one arrives within {@code timeout}, else {@code null} (for clients that decide what
   * to do while nothing arrives); fails if the stream ended.
   */
  @SuppressWarnings("unchecked")
  public R poll(java.time.Duration timeout) throws InterruptedException {
    Object next = received.poll(Math.max(0, timeout.toNanos()), TimeUnit.NANOSECONDS);
    if (next instanceof Throwable t) {
      throw new AssertionError("the stream ended", t);
    }
    return (R) next;
  }

  /** Responses received and not yet taken. */
  public int waiting() {
    return received.size();
  }

  @Override
  public void close() {
    try {
      synchronized (requests) {
        requests.onCompleted();
      }
    } catch (RuntimeException ignored) {
      // the stream already ended
    }
    channel.shutdownNow();
  }
}
