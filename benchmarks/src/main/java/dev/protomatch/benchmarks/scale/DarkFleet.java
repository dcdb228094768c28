package dev.protomatch.benchmarks.scale;

import com.google.protobuf.ByteString;
import com.google.protobuf.DescriptorProtos.FileDescriptorSet;
import com.google.protobuf.InvalidProtocolBufferException;
import io.grpc.Context;
import io.grpc.Contexts;
import io.grpc.Grpc;
import io.grpc.Metadata;
import io.grpc.Server;
import io.grpc.ServerCall;
import io.grpc.ServerCallHandler;
import io.grpc.ServerInterceptor;
import io.grpc.ServerInterceptors;
import io.grpc.Status;
import io.grpc.netty.shaded.io.grpc.netty.NettyServerBuilder;
import io.grpc.reflection.v1.ErrorResponse;
import io.grpc.reflection.v1.FileDescriptorResponse;
import io.grpc.reflection.v1.ListServiceResponse;
import io.grpc.reflection.v1.ServerReflectionGrpc;
import io.grpc.reflection.v1.ServerReflectionRequest;
import io.grpc.reflection.v1.ServerReflectionResponse;
import io.grpc.reflection.v1.ServiceResponse;
import io.grpc.stub.StreamObserver;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.InetSocketAddress;
import java.net.SocketAddress;
import java.util.concurrent.atomic.LongAdder;

/**
 * What stands at every fleet endpoint's address: one gRPC server listening on the wildcard address so that a
 * connection to any {@code 127.a.b.c:<port>} reaches it (the fleet's 10,000 addresses could not each have a
 * listening socket of their own within the file descriptor limit). It serves no traffic: the harness sends none.
 *
 * <p>By default it answers every call, reflection included, with UNIMPLEMENTED, which protomatch's probe reads as
 * "no reflection"; {@code without-reflection: trust-advertised} then routes a registered endpoint by the
 * descriptor set it registered. (An address with nothing listening would instead be excluded as unreachable.)
 *
 * <p>While {@link #answerReflection(Fleet)} names a fleet (the injected fleet, declared as static endpoints, which
 * has nothing else to be routed by), it answers {@code grpc.reflection.v1} per endpoint: the local address a
 * connection came in on ({@link Grpc#TRANSPORT_ATTR_LOCAL_ADDR}) names the endpoint ({@link Fleet#endpointAt}), and
 * the answer is the service and descriptors of that endpoint's build. Addresses outside the fleet (the markers at
 * {@code 127.250.x.y}) still get UNIMPLEMENTED.
 */
final class DarkFleet implements AutoCloseable {
  private static final Context.Key<SocketAddress> LOCAL_ADDRESS = Context.key("dark-fleet-local-address");

  private final Server server;
  /** Written by the harness thread between runs, read by gRPC's threads. */
  private volatile Fleet answering;
  private final LongAdder answered = new LongAdder();

  private DarkFleet(NettyServerBuilder builder) throws IOException {
    this.server = builder.addService(ServerInterceptors.intercept(new Reflection(), new LocalAddress())).build().start();
  }

  static DarkFleet start(int port) throws IOException {
    return new DarkFleet(NettyServerBuilder.forAddress(new InetSocketAddress("0.0.0.0", port)));
  }

  int port() {
    return server.getPort();
  }

  /** From now on, answer reflection for {@code fleet}'s endpoints; {@code null}: UNIMPLEMENTED for all again. */
  void answerReflection(Fleet fleet) {
    this.answering = fleet;
  }

  /** Reflection requests answered (not UNIMPLEMENTED) so far. */
  long reflectionAnswers() {
    return answered.sum();
  }

  @Override
  public void close() {
    server.shutdownNow();
  }

  /** Makes the connection's local address available to the service. */
  private static final class LocalAddress implements ServerInterceptor {
    @Override
    public <Q, A> ServerCall.Listener<Q> interceptCall(ServerCall<Q, A> call, Metadata headers,
                                                       ServerCallHandler<Q, A> next) {
      Context context = Context.current().withValue(LOCAL_ADDRESS,
          call.getAttributes().get(Grpc.TRANSPORT_ATTR_LOCAL_ADDR));
      return Contexts.interceptCall(context, call, headers, next);
    }
  }

  private final class Reflection extends ServerReflectionGrpc.ServerReflectionImplBase {
    @Override
    public StreamObserver<ServerReflectionRequest> serverReflectionInfo(
        StreamObserver<ServerReflectionResponse> responses) {
      Fleet fleet = answering;
      int endpoint = fleet == null ? -1 : fleet.endpointAt(LOCAL_ADDRESS.get());
      return new StreamObserver<>() {
        private boolean closed;

        @Override
        public void onNext(ServerReflectionRequest request) {
          if (closed) {
            return;
          }
          if (endpoint < 0) {
            closed = true;
            responses.onError(Status.UNIMPLEMENTED.withDescription("no reflection at this address")
                .asRuntimeException());
            return;
          }
          answered.increment();
          responses.onNext(answer(fleet, endpoint, request));
        }

        @Override
        public void onError(Throwable t) {
          closed = true;
        }

        @Override
        public void onCompleted() {
          if (!closed) {
            closed = true;
            responses.onCompleted();
          }
        }
      };
    }
  }

  private static ServerReflectionResponse answer(Fleet fleet, int endpoint, ServerReflectionRequest request) {
    int service = fleet.serviceOf(endpoint);
    ByteString file = file(service, fleet.buildOf(endpoint));
    String fileName = "bench/v1/svc" + service + ".proto";
    ServerReflectionResponse.Builder response = ServerReflectionResponse.newBuilder()
        .setValidHost(request.getHost()).setOriginalRequest(request);
    switch (request.getMessageRequestCase()) {
      case LIST_SERVICES -> response.setListServicesResponse(ListServiceResponse.newBuilder()
          .addService(ServiceResponse.newBuilder().setName(Fleet.service(service))));
      case FILE_CONTAINING_SYMBOL -> {
        String symbol = request.getFileContainingSymbol();
        if (symbol.equals(Fleet.service(service)) || symbol.startsWith(Fleet.service(service) + ".")) {
          response.setFileDescriptorResponse(FileDescriptorResponse.newBuilder().addFileDescriptorProto(file));
        } else {
          response.setErrorResponse(notFound(symbol));
        }
      }
      case FILE_BY_FILENAME -> {
        if (request.getFileByFilename().equals(fileName)) {
          response.setFileDescriptorResponse(FileDescriptorResponse.newBuilder().addFileDescriptorProto(file));
        } else {
          response.setErrorResponse(notFound(request.getFileByFilename()));
        }
      }
      default -> response.setErrorResponse(ErrorResponse.newBuilder()
          .setErrorCode(Status.Code.UNIMPLEMENTED.value()).setErrorMessage("not answered by the dark fleet"));
    }
    return response.build();
  }

  private static ErrorResponse notFound(String what) {
    return ErrorResponse.newBuilder().setErrorCode(Status.Code.NOT_FOUND.value()).setErrorMessage(what + " not found")
        .build();
  }

  /** The one file of {@link Fleet#descriptorSet}. */
  private static ByteString file(int service, int build) {
    try {
      return FileDescriptorSet.parseFrom(Fleet.descriptorSet(service, build)).getFile(0).toByteString();
    } catch (InvalidProtocolBufferException e) {
      throw new UncheckedIOException(e);
    }
  }
}
