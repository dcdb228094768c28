package dev.protomatch.testing;

import com.google.protobuf.DescriptorProtos.FileDescriptorProto;
import com.google.protobuf.DescriptorProtos.FileDescriptorSet;
import com.google.protobuf.DescriptorProtos.ServiceDescriptorProto;
import com.google.protobuf.DescriptorProtos.SourceCodeInfo;
import io.grpc.ServerServiceDefinition;
import io.grpc.Status;
import io.grpc.reflection.v1.ErrorResponse;
import io.grpc.reflection.v1.FileDescriptorResponse;
import io.grpc.reflection.v1.ListServiceResponse;
import io.grpc.reflection.v1.ServerReflectionGrpc;
import io.grpc.reflection.v1.ServerReflectionRequest;
import io.grpc.reflection.v1.ServerReflectionResponse;
import io.grpc.reflection.v1.ServiceResponse;
import io.grpc.stub.ServerCallStreamObserver;
import io.grpc.stub.ServerCalls;
import io.grpc.stub.StreamObserver;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Function;

/**
 * A {@code grpc.reflection.v1} service that lies in one chosen way, counting what happened on its streams:
 * requests received, answer bytes handed to gRPC, streams the client cancelled and half-closed. Each
 * stream lists the one service it was built for and then misbehaves; none ever completes a stream itself,
 * so a stream ends only when the client cancels it (or its deadline passes).
 */
public final class RogueReflection {
  private final Function<RogueReflection, Conversation> conversations;
  private final AtomicInteger requests = new AtomicInteger();
  private final AtomicLong bytesOffered = new AtomicLong();
  private final AtomicInteger cancelled = new AtomicInteger();
  private final AtomicInteger halfClosed = new AtomicInteger();

  private RogueReflection(Function<RogueReflection, Conversation> conversations) {
    this.conversations = conversations;
  }

  /**
   * After answering list_services, pushes answers nobody asked for, as fast as flow control lets it, until it
   * has offered {@code offerBytes}: a chain of files of about {@code answerBytes} each, the first defining
   * {@code service}, each importing the next. A client that reads one answer per request finds each the file it
   * asked for, so only a byte budget stops it.
   */
  public static RogueReflection flooding(String service, int answerBytes, long offerBytes) {
    return new RogueReflection(owner -> new Conversation(owner, service) {
      private boolean flooding;
      private int next;

      @Override
      void onRequest(ServerReflectionRequest request) {
        if (request.hasListServices() && !flooding) {
          send(list(request));
          flooding = true;
          onReady();
        }
      }

      @Override
      void onReady() {
        while (flooding && out.isReady() && owner.bytesOffered.get() < offerBytes) {
          FileDescriptorProto.Builder file = chainFile("flood", next++);
          if (next == 1) {
            file.setPackage(packageOf(service)).addService(ServiceDescriptorProto.newBuilder().setName(nameOf(service)));
          }
          send(ServerReflectionResponse.newBuilder().setFileDescriptorResponse(FileDescriptorResponse.newBuilder()
              .addFileDescriptorProto(padded(file, answerBytes).build().toByteString())).build());
        }
      }
    });
  }

  /** Answers every file request with one file defining {@code service}, of about {@code fileBytes}. */
  public static RogueReflection oversized(String service, int fileBytes) {
    return new RogueReflection(owner -> new Conversation(owner, service) {
      @Override
      void onRequest(ServerReflectionRequest request) {
        send(request.hasListServices() ? list(request) : files(request, padded(definingFile(service, "big.proto"),
            fileBytes)));
      }
    });
  }

  /** Answers every file request with the asked-for file, which imports the next of a chain that never ends. */
  public static RogueReflection endlessImports(String service) {
    return new RogueReflection(owner -> new Conversation(owner, service) {
      @Override
      void onRequest(ServerReflectionRequest request) {
        if (request.hasListServices()) {
          send(list(request));
        } else if (request.hasFileContainingSymbol()) {
          send(files(request, definingFile(service, "chain/0.proto").addDependency("chain/1.proto")));
        } else {
          int n = Integer.parseInt(request.getFileByFilename().replaceAll("\\D", ""));
          send(files(request, chainFile("chain", n)));
        }
      }
    });
  }

  /** Defines {@code service} in a file importing {@code b.proto}, then answers every file request with {@code c.proto}. */
  public static RogueReflection wrongFile(String service) {
    return new RogueReflection(owner -> new Conversation(owner, service) {
      @Override
      void onRequest(ServerReflectionRequest request) {
        if (request.hasListServices()) {
          send(list(request));
        } else if (request.hasFileContainingSymbol()) {
          send(files(request, definingFile(service, "a.proto").addDependency("b.proto")));
        } else {
          send(files(request, FileDescriptorProto.newBuilder().setName("c.proto")));
        }
      }
    });
  }

  /** Defines {@code service} in a file importing {@code b.proto}, then answers every request with that same answer again. */
  public static RogueReflection replaying(String service) {
    return new RogueReflection(owner -> new Conversation(owner, service) {
      private ServerReflectionResponse first;

      @Override
      void onRequest(ServerReflectionRequest request) {
        if (request.hasListServices()) {
          send(list(request));
          return;
        }
        if (first == null) {
          first = files(request, definingFile(service, "a.proto").addDependency("b.proto"));
        }
        send(first);
      }
    });
  }

  /** Answers every request, file requests too, with the service list. */
  public static RogueReflection listingOnly(String service) {
    return new RogueReflection(owner -> new Conversation(owner, service) {
      @Override
      void onRequest(ServerReflectionRequest request) {
        send(list(request));
      }
    });
  }

  /**
   * Answers truthfully from {@code files} (a symbol request with all of them, a file request with that file)
   * but ignores the client's half-close, so its stream stays open until the client cancels it.
   */
  public static RogueReflection clinging(String service, FileDescriptorSet files) {
    return new RogueReflection(owner -> new Conversation(owner, service) {
      @Override
      void onRequest(ServerReflectionRequest request) {
        if (request.hasListServices()) {
          send(list(request));
          return;
        }
        FileDescriptorResponse.Builder answer = FileDescriptorResponse.newBuilder();
        for (FileDescriptorProto file : files.getFileList()) {
          if (request.hasFileContainingSymbol() || file.getName().equals(request.getFileByFilename())) {
            answer.addFileDescriptorProto(file.toByteString());
          }
        }
        ServerReflectionResponse.Builder response = ServerReflectionResponse.newBuilder().setOriginalRequest(request);
        send(answer.getFileDescriptorProtoCount() == 0
            ? response.setErrorResponse(ErrorResponse.newBuilder().setErrorCode(Status.Code.NOT_FOUND.value())).build()
            : response.setFileDescriptorResponse(answer).build());
      }
    });
  }

  public ServerServiceDefinition definition() {
    return ServerServiceDefinition.builder(ServerReflectionGrpc.getServiceDescriptor())
        .addMethod(ServerReflectionGrpc.getServerReflectionInfoMethod(),
            ServerCalls.asyncBidiStreamingCall(responses -> conversations.apply(this).start(
                (ServerCallStreamObserver<ServerReflectionResponse>) responses)))
        .build();
  }

  /** Requests received on all streams. */
  public int requests() {
    return requests.get();
  }

  /** Answer bytes handed to gRPC on all streams (sent or queued for sending). */
  public long bytesOffered() {
    return bytesOffered.get();
  }

  /** Streams the client cancelled (or whose deadline passed). */
  public int cancelled() {
    return cancelled.get();
  }

  /** Streams the client half-closed. */
  public int halfClosed() {
    return halfClosed.get();
  }

  /** One stream: reacts to requests (and, if it pushes unasked, to flow control). Runs serialized by gRPC. */
  private abstract static class Conversation {
    final RogueReflection owner;
    final String service;
    ServerCallStreamObserver<ServerReflectionResponse> out;

    Conversation(RogueReflection owner, String service) {
      this.owner = owner;
      this.service = service;
    }

    abstract void onRequest(ServerReflectionRequest request);

    void onReady() {}

    StreamObserver<ServerReflectionRequest> start(ServerCallStreamObserver<ServerReflectionResponse> out) {
      this.out = out;
      out.setOnCancelHandler(owner.cancelled::incrementAndGet);
      out.setOnReadyHandler(this::onReady);
      return new StreamObserver<>() {
        @Override
        public void onNext(ServerReflectionRequest request) {
          owner.requests.incrementAndGet();
          onRequest(request);
        }

        @Override
        public void onError(Throwable t) {}

        @Override
        public void onCompleted() {
          owner.halfClosed.incrementAndGet();
        }
      };
    }

    void send(ServerReflectionResponse response) {
      owner.bytesOffered.addAndGet(response.getSerializedSize());
      out.onNext(response);
    }

    ServerReflectionResponse list(ServerReflectionRequest request) {
      return ServerReflectionResponse.newBuilder().setOriginalRequest(request)
          .setListServicesResponse(ListServiceResponse.newBuilder().addService(ServiceResponse.newBuilder().setName(service)))
          .build();
    }
  }

  private static ServerReflectionResponse files(ServerReflectionRequest request, FileDescriptorProto.Builder... files) {
    FileDescriptorResponse.Builder answer = FileDescriptorResponse.newBuilder();
    for (FileDescriptorProto.Builder file : files) {
      answer.addFileDescriptorProto(file.build().toByteString());
    }
    return ServerReflectionResponse.newBuilder().setOriginalRequest(request).setFileDescriptorResponse(answer).build();
  }

  private static FileDescriptorProto.Builder definingFile(String service, String name) {
    return FileDescriptorProto.newBuilder().setName(name).setPackage(packageOf(service))
        .addService(ServiceDescriptorProto.newBuilder().setName(nameOf(service)));
  }

  private static FileDescriptorProto.Builder chainFile(String directory, int n) {
    return FileDescriptorProto.newBuilder().setName(directory + "/" + n + ".proto")
        .addDependency(directory + "/" + (n + 1) + ".proto");
  }

  /** The file grown to about {@code bytes} by a comment, which changes nothing a client checks. */
  private static FileDescriptorProto.Builder padded(FileDescriptorProto.Builder file, int bytes) {
    return file.setSourceCodeInfo(SourceCodeInfo.newBuilder().addLocation(SourceCodeInfo.Location.newBuilder()
        .setLeadingComments("x".repeat(Math.max(0, bytes)))));
  }

  private static String packageOf(String service) {
    int dot = service.lastIndexOf('.');
    return dot < 0 ? "" : service.substring(0, dot);
  }

  private static String nameOf(String service) {
    return service.substring(service.lastIndexOf('.') + 1);
  }
}
