package dev.protomatch.probe;

import io.grpc.MethodDescriptor;
import io.grpc.MethodDescriptor.MethodType;
import io.grpc.protobuf.ProtoUtils;
import io.grpc.reflection.v1.ServerReflectionRequest;
import io.grpc.reflection.v1.ServerReflectionResponse;

/**
 * The two names of gRPC server reflection. {@code grpc.reflection.v1} and {@code grpc.reflection.v1alpha}
 * carry byte-for-byte identical messages (v1 is v1alpha renamed), so both are spoken with the v1 message
 * classes and differ only in the method path. Servers built before v1 existed (older grpc-go, tonic,
 * grpc-js) answer only v1alpha.
 */
public enum ReflectionProtocol {
  V1("grpc.reflection.v1.ServerReflection/ServerReflectionInfo"),
  V1ALPHA("grpc.reflection.v1alpha.ServerReflection/ServerReflectionInfo");

  private final MethodDescriptor<ServerReflectionRequest, ServerReflectionResponse> method;

  ReflectionProtocol(String fullMethodName) {
    this.method = MethodDescriptor.<ServerReflectionRequest, ServerReflectionResponse>newBuilder()
        .setType(MethodType.BIDI_STREAMING)
        .setFullMethodName(fullMethodName)
        .setRequestMarshaller(ProtoUtils.marshaller(ServerReflectionRequest.getDefaultInstance()))
        .setResponseMarshaller(ProtoUtils.marshaller(ServerReflectionResponse.getDefaultInstance()))
        .build();
  }

  MethodDescriptor<ServerReflectionRequest, ServerReflectionResponse> method() {
    return method;
  }
}
