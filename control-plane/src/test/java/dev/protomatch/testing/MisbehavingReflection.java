package dev.protomatch.testing;

import com.google.protobuf.ByteString;
import io.grpc.ServerServiceDefinition;
import io.grpc.reflection.v1.FileDescriptorResponse;
import io.grpc.reflection.v1.ListServiceResponse;
import io.grpc.reflection.v1.ServerReflectionGrpc;
import io.grpc.reflection.v1.ServerReflectionRequest;
import io.grpc.reflection.v1.ServerReflectionResponse;
import io.grpc.reflection.v1.ServiceResponse;
import io.grpc.stub.ServerCalls;
import io.grpc.stub.StreamObserver;

/** Reflection services that misbehave the ways real endpoints do: hang, or answer garbage. */
public final class MisbehavingReflection {
  private MisbehavingReflection() {}

  /** Accepts the reflection stream and never answers. */
  public static ServerServiceDefinition hanging() {
    return ServerServiceDefinition.builder(ServerReflectionGrpc.getServiceDescriptor())
        .addMethod(ServerReflectionGrpc.getServerReflectionInfoMethod(),
            ServerCalls.asyncBidiStreamingCall(responses -> new StreamObserver<ServerReflectionRequest>() {
              @Override public void onNext(ServerReflectionRequest value) {}
              @Override public void onError(Throwable t) {}
              @Override public void onCompleted() {}
            }))
        .build();
  }

  /** Lists {@code service}, then answers every file request with bytes that are not a FileDescriptorProto. */
  public static ServerServiceDefinition garbage(String service) {
    return ServerServiceDefinition.builder(ServerReflectionGrpc.getServiceDescriptor())
        .addMethod(ServerReflectionGrpc.getServerReflectionInfoMethod(),
            ServerCalls.asyncBidiStreamingCall(responses -> new StreamObserver<ServerReflectionRequest>() {
              @Override
              public void onNext(ServerReflectionRequest request) {
                ServerReflectionResponse.Builder answer = ServerReflectionResponse.newBuilder().setOriginalRequest(request);
                if (request.hasListServices()) {
                  answer.setListServicesResponse(ListServiceResponse.newBuilder()
                      .addService(ServiceResponse.newBuilder().setName(service)));
                } else {
                  answer.setFileDescriptorResponse(FileDescriptorResponse.newBuilder()
                      .addFileDescriptorProto(ByteString.copyFromUtf8("\u0008\u00ff\u00ffnot a descriptor")));
                }
                responses.onNext(answer.build());
              }

              @Override public void onError(Throwable t) {}

              @Override public void onCompleted() {
                responses.onCompleted();
              }
            }))
        .build();
  }
}
