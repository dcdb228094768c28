package dev.protomatch.demo;

import io.grpc.BindableService;
import io.grpc.Status;
import io.grpc.stub.StreamObserver;

/**
 * The demo service in its builds. Replies name the instance and the build ({@code "... from NAME (BUILD)"}),
 * so a client can see which process answered. v1 lacks SayHelloAgain, exactly like the forgotten old
 * process of the field report; v3 adds SayGoodbye; v2x serves SayHelloAgain with another request type.
 */
public final class DemoGreeters {
  private DemoGreeters() {}

  /** The old build: only SayHello. */
  public static BindableService v1(String instance) {
    return new dev.protomatch.demo.v1.GreeterGrpc.GreeterImplBase() {
      @Override
      public void sayHello(dev.protomatch.demo.v1.HelloRequest request,
                           StreamObserver<dev.protomatch.demo.v1.HelloReply> response) {
        response.onNext(dev.protomatch.demo.v1.HelloReply.newBuilder()
            .setMessage("Hello " + request.getName() + " from " + instance + " (v1)").build());
        response.onCompleted();
      }
    };
  }

  /** The new build: SayHello and SayHelloAgain. */
  public static BindableService v2(String instance) {
    return new dev.protomatch.demo.v2.GreeterGrpc.GreeterImplBase() {
      @Override
      public void sayHello(dev.protomatch.demo.v2.HelloRequest request,
                           StreamObserver<dev.protomatch.demo.v2.HelloReply> response) {
        response.onNext(dev.protomatch.demo.v2.HelloReply.newBuilder()
            .setMessage("Hello " + request.getName() + " from " + instance + " (v2)").build());
        response.onCompleted();
      }

      @Override
      public void sayHelloAgain(dev.protomatch.demo.v2.HelloRequest request,
                                StreamObserver<dev.protomatch.demo.v2.HelloReply> response) {
        response.onNext(dev.protomatch.demo.v2.HelloReply.newBuilder()
            .setMessage("Hello again " + request.getName() + " from " + instance + " (v2)").build());
        response.onCompleted();
      }
    };
  }

  /**
   * "v2-prime": v2's methods, but SayHelloAgain takes a {@code HelloAgainRequest}. A v2 or v3 client's
   * {@code HelloRequest} shares no field number with it, so such a request arrives as unknown fields only;
   * that is answered INVALID_ARGUMENT, which makes a call routed to the wrong signature visible to the caller
   * (protobuf itself would accept the bytes silently).
   */
  public static BindableService v2x(String instance) {
    return new dev.protomatch.demo.v2x.GreeterGrpc.GreeterImplBase() {
      @Override
      public void sayHello(dev.protomatch.demo.v2x.HelloRequest request,
                           StreamObserver<dev.protomatch.demo.v2x.HelloReply> response) {
        response.onNext(dev.protomatch.demo.v2x.HelloReply.newBuilder()
            .setMessage("Hello " + request.getName() + " from " + instance + " (v2x)").build());
        response.onCompleted();
      }

      @Override
      public void sayHelloAgain(dev.protomatch.demo.v2x.HelloAgainRequest request,
                                StreamObserver<dev.protomatch.demo.v2x.HelloReply> response) {
        if (!request.getUnknownFields().asMap().isEmpty()) {
          response.onError(Status.INVALID_ARGUMENT.withDescription("SayHelloAgain of build v2x (" + instance
              + ") takes a demo.HelloAgainRequest; the request has only fields that message does not define "
              + request.getUnknownFields().asMap().keySet() + " (a demo.HelloRequest of another build?)")
              .asRuntimeException());
          return;
        }
        response.onNext(dev.protomatch.demo.v2x.HelloReply.newBuilder()
            .setMessage("Hello again " + request.getGreetingName() + " (x" + request.getTimes() + ") from "
                + instance + " (v2x)").build());
        response.onCompleted();
      }
    };
  }

  /** The third build: v2 plus SayGoodbye. */
  public static BindableService v3(String instance) {
    return new dev.protomatch.demo.v3.GreeterGrpc.GreeterImplBase() {
      @Override
      public void sayHello(dev.protomatch.demo.v3.HelloRequest request,
                           StreamObserver<dev.protomatch.demo.v3.HelloReply> response) {
        response.onNext(dev.protomatch.demo.v3.HelloReply.newBuilder()
            .setMessage("Hello " + request.getName() + " from " + instance + " (v3)").build());
        response.onCompleted();
      }

      @Override
      public void sayHelloAgain(dev.protomatch.demo.v3.HelloRequest request,
                                StreamObserver<dev.protomatch.demo.v3.HelloReply> response) {
        response.onNext(dev.protomatch.demo.v3.HelloReply.newBuilder()
            .setMessage("Hello again " + request.getName() + " from " + instance + " (v3)").build());
        response.onCompleted();
      }

      @Override
      public void sayGoodbye(dev.protomatch.demo.v3.HelloRequest request,
                             StreamObserver<dev.protomatch.demo.v3.HelloReply> response) {
        response.onNext(dev.protomatch.demo.v3.HelloReply.newBuilder()
            .setMessage("Goodbye " + request.getName() + " from " + instance + " (v3)").build());
        response.onCompleted();
      }
    };
  }
}
