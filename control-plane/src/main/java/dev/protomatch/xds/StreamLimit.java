package dev.protomatch.xds;

import io.grpc.ForwardingServerCallListener;
import io.grpc.Metadata;
import io.grpc.ServerCall;
import io.grpc.ServerCallHandler;
import io.grpc.ServerInterceptor;
import io.grpc.Status;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * Refuses xDS streams beyond {@code max} open at once with RESOURCE_EXHAUSTED, so that clients opening streams
 * without end cannot make the control plane hold per-stream state without end. Clients retry with back-off
 * (Envoy and gRPC both do), and are served once streams close.
 */
final class StreamLimit implements ServerInterceptor {
  private final int max;
  private final AtomicInteger open = new AtomicInteger();

  StreamLimit(int max) {
    this.max = max;
  }

  /** Streams open now. */
  int open() {
    return open.get();
  }

  @Override
  public <Q, R> ServerCall.Listener<Q> interceptCall(ServerCall<Q, R> call, Metadata headers,
                                                    ServerCallHandler<Q, R> next) {
    if (open.incrementAndGet() > max) {
      open.decrementAndGet();
      call.close(Status.RESOURCE_EXHAUSTED.withDescription("this control plane serves at most " + max
          + " xDS streams at once; retry later or connect to another replica"), new Metadata());
      return new ServerCall.Listener<>() {};
    }
    AtomicBoolean closed = new AtomicBoolean();
    Runnable release = () -> {
      if (closed.compareAndSet(false, true)) {
        open.decrementAndGet();
      }
    };
    ServerCall.Listener<Q> delegate;
    try {
      delegate = next.startCall(call, headers);
    } catch (RuntimeException e) {
      release.run();
      throw e;
    }
    return new ForwardingServerCallListener.SimpleForwardingServerCallListener<>(delegate) {
      @Override
      public void onComplete() {
        release.run();
        super.onComplete();
      }

      @Override
      public void onCancel() {
        release.run();
        super.onCancel();
      }
    };
  }
}
