package dev.protomatch.testing;

import io.grpc.CallOptions;
import io.grpc.Channel;
import io.grpc.ClientCall;
import io.grpc.ClientInterceptor;
import io.grpc.ClientStreamTracer;
import io.grpc.Metadata;
import io.grpc.MethodDescriptor;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Counts the message bytes a client actually read off its calls (grpc's inbound wire size, reported as the
 * client's deframer takes each message): what the client took in, not what the server tried to send.
 * Intercept a channel with it: {@code ClientInterceptors.intercept(channel, counter)}.
 */
public final class InboundBytes implements ClientInterceptor {
  private final AtomicLong bytes = new AtomicLong();

  public long total() {
    return bytes.get();
  }

  @Override
  public <ReqT, RespT> ClientCall<ReqT, RespT> interceptCall(MethodDescriptor<ReqT, RespT> method,
                                                             CallOptions callOptions, Channel next) {
    return next.newCall(method, callOptions.withStreamTracerFactory(new ClientStreamTracer.Factory() {
      @Override
      public ClientStreamTracer newClientStreamTracer(ClientStreamTracer.StreamInfo info, Metadata headers) {
        return new ClientStreamTracer() {
          @Override
          public void inboundWireSize(long size) {
            bytes.addAndGet(size);
          }
        };
      }
    }));
  }
}
