package dev.protomatch.xds;

import io.grpc.Attributes;
import io.grpc.Metadata;
import io.grpc.ServerCall;
import io.grpc.ServerCallHandler;
import io.grpc.ServerInterceptor;
import io.grpc.ServerTransportFilter;
import io.grpc.Status;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * At most {@code max} connections are served at once. grpc-java cannot refuse a connection, so one accepted past
 * the limit is marked when it becomes ready, every call on it is refused with RESOURCE_EXHAUSTED, and the
 * server's idle timeout ({@code maxConnectionIdle}) closes it: such a connection costs protomatch its socket for
 * that long and nothing else. Install as both the server's transport filter and an interceptor of its services.
 */
final class ConnectionLimit extends ServerTransportFilter implements ServerInterceptor {
  private static final Attributes.Key<Boolean> OVER_LIMIT = Attributes.Key.create("protomatch-connection-over-limit");

  private final int max;
  private final AtomicInteger open = new AtomicInteger();

  ConnectionLimit(int max) {
    this.max = max;
  }

  /** Connections open now, over the limit or not. */
  int open() {
    return open.get();
  }

  @Override
  public Attributes transportReady(Attributes transport) {
    boolean over = open.incrementAndGet() > max;
    return transport.toBuilder().set(OVER_LIMIT, over).build();
  }

  @Override
  public void transportTerminated(Attributes transport) {
    if (transport.get(OVER_LIMIT) != null) { // counted by transportReady
      open.decrementAndGet();
    }
  }

  @Override
  public <Q, R> ServerCall.Listener<Q> interceptCall(ServerCall<Q, R> call, Metadata headers,
                                                    ServerCallHandler<Q, R> next) {
    if (Boolean.TRUE.equals(call.getAttributes().get(OVER_LIMIT))) {
      call.close(Status.RESOURCE_EXHAUSTED.withDescription("this control plane serves at most " + max
          + " connections at once; retry later or connect to another replica"), new Metadata());
      return new ServerCall.Listener<>() {};
    }
    return next.startCall(call, headers);
  }
}
