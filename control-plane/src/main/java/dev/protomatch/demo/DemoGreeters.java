package dev.protomatch.demo;

import io.grpc.BindableService;
import io.grpc.stub.StreamObserver;

/**
 * The demo service in its two builds. Replies name the instance, so a client can see which process
 * answered; v1 lacks SayHelloAgain, exactly like the forgotten old process of the field report.
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
}
