package dev.protomatch.probe;

import com.google.protobuf.ByteString;
import com.google.protobuf.DescriptorProtos.FileDescriptorProto;
import com.google.protobuf.DescriptorProtos.FileDescriptorSet;
import com.google.protobuf.InvalidProtocolBufferException;
import io.grpc.CallOptions;
import io.grpc.Channel;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.reflection.v1.ServerReflectionRequest;
import io.grpc.reflection.v1.ServerReflectionResponse;
import io.grpc.reflection.v1.ServiceResponse;
import io.grpc.stub.ClientCalls;
import io.grpc.stub.StreamObserver;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;

/**
 * Asks an endpoint's gRPC server reflection which services it serves and for the files defining them.
 *
 * <p>The whole exchange runs on one stream under one deadline, so a hanging endpoint costs at most
 * {@code timeout}. Answers are untrusted: their size is bounded, each file must parse, and every import
 * must be answered, or the probe fails with a {@link ReflectionException} saying which.
 */
public final class ReflectionClient {
  /** Bounds what a lying endpoint can make us hold; real services are far below it. */
  static final int MAX_FILES = dev.protomatch.descriptor.DescriptorSetResolver.MAX_FILES;

  private final Duration timeout;

  public ReflectionClient(Duration timeout) {
    this.timeout = timeout;
  }

  /** Probes with {@code grpc.reflection.v1}, falling back to {@code v1alpha} if the server lacks v1. */
  public ReflectionResult fetch(Channel channel, String endpoint) throws ReflectionException {
    try {
      return fetch(channel, endpoint, ReflectionProtocol.V1);
    } catch (ReflectionException e) {
      if (e.kind() != ReflectionException.Kind.NOT_SUPPORTED) {
        throw e;
      }
      return fetch(channel, endpoint, ReflectionProtocol.V1ALPHA);
    }
  }

  /** Probes with one protocol only. */
  public ReflectionResult fetch(Channel channel, String endpoint, ReflectionProtocol protocol)
      throws ReflectionException {
    long deadlineNanos = System.nanoTime() + timeout.toNanos();
    Exchange exchange = new Exchange(channel, protocol, endpoint, deadlineNanos);
    try {
      List<String> services = new ArrayList<>();
      for (ServiceResponse service : exchange.ask(ServerReflectionRequest.newBuilder().setListServices("").build())
          .getListServicesResponse().getServiceList()) {
        services.add(service.getName());
      }
      Map<String, FileDescriptorProto> files = new LinkedHashMap<>();
      for (String service : services) {
        if (!definesSymbol(files, service)) {
          exchange.addFiles(exchange.ask(
              ServerReflectionRequest.newBuilder().setFileContainingSymbol(service).build()), files);
        }
      }
      for (List<String> missing = missingImports(files); !missing.isEmpty(); missing = missingImports(files)) {
        for (String name : missing) {
          exchange.addFiles(exchange.ask(ServerReflectionRequest.newBuilder().setFileByFilename(name).build()), files);
        }
      }
      return new ReflectionResult(protocol, services, FileDescriptorSet.newBuilder().addAllFile(files.values()).build());
    } finally {
      exchange.close();
    }
  }

  private static boolean definesSymbol(Map<String, FileDescriptorProto> files, String service) {
    for (FileDescriptorProto file : files.values()) {
      String prefix = file.getPackage().isEmpty() ? "" : file.getPackage() + ".";
      if (file.getServiceList().stream().anyMatch(s -> (prefix + s.getName()).equals(service))) {
        return true;
      }
    }
    return false;
  }

  private static List<String> missingImports(Map<String, FileDescriptorProto> files) {
    List<String> missing = new ArrayList<>();
    for (FileDescriptorProto file : files.values()) {
      for (String dependency : file.getDependencyList()) {
        if (!files.containsKey(dependency) && !missing.contains(dependency)) {
          missing.add(dependency);
        }
      }
    }
    return missing;
  }

  /** One reflection stream: requests are answered in order, one at a time. */
  private static final class Exchange implements StreamObserver<ServerReflectionResponse> {
    private static final Object COMPLETED = new Object();

    private final BlockingQueue<Object> answers = new LinkedBlockingQueue<>();
    private final StreamObserver<ServerReflectionRequest> requests;
    private final ReflectionProtocol protocol;
    private final String endpoint;
    private final long deadlineNanos;

    Exchange(Channel channel, ReflectionProtocol protocol, String endpoint, long deadlineNanos) {
      this.protocol = protocol;
      this.endpoint = endpoint;
      this.deadlineNanos = deadlineNanos;
      CallOptions options = CallOptions.DEFAULT.withDeadlineAfter(
          Math.max(1, deadlineNanos - System.nanoTime()), TimeUnit.NANOSECONDS);
      this.requests = ClientCalls.asyncBidiStreamingCall(channel.newCall(protocol.method(), options), this);
    }

    ServerReflectionResponse ask(ServerReflectionRequest request) throws ReflectionException {
      requests.onNext(request);
      Object answer;
      try {
        answer = answers.poll(Math.max(0, deadlineNanos - System.nanoTime()), TimeUnit.NANOSECONDS);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        throw new ReflectionException(ReflectionException.Kind.UNAVAILABLE, endpoint + ": reflection probe interrupted");
      }
      if (answer == null) {
        throw timeout();
      }
      if (answer instanceof Throwable failure) {
        throw translate(Status.fromThrowable(failure));
      }
      if (answer == COMPLETED) {
        throw bad("the server closed the reflection stream before answering " + describe(request));
      }
      ServerReflectionResponse response = (ServerReflectionResponse) answer;
      if (response.hasErrorResponse()) {
        throw bad("the server answered " + describe(request) + " with error "
            + Status.fromCodeValue(response.getErrorResponse().getErrorCode()).getCode() + ": "
            + response.getErrorResponse().getErrorMessage());
      }
      boolean expected = switch (request.getMessageRequestCase()) {
        case LIST_SERVICES -> response.hasListServicesResponse();
        default -> response.hasFileDescriptorResponse();
      };
      if (!expected) {
        throw bad("the server answered " + describe(request) + " with " + response.getMessageResponseCase());
      }
      return response;
    }

    void addFiles(ServerReflectionResponse response, Map<String, FileDescriptorProto> files)
        throws ReflectionException {
      for (ByteString bytes : response.getFileDescriptorResponse().getFileDescriptorProtoList()) {
        FileDescriptorProto file;
        try {
          file = FileDescriptorProto.parseFrom(bytes);
        } catch (InvalidProtocolBufferException e) {
          throw bad("a file in the reflection answer is not a FileDescriptorProto (" + e.getMessage() + ")");
        }
        if (file.getName().isEmpty()) {
          throw bad("a file in the reflection answer has no name");
        }
        files.putIfAbsent(file.getName(), file);
        if (files.size() > MAX_FILES) {
          throw bad("the reflection answer holds more than " + MAX_FILES + " files");
        }
      }
    }

    void close() {
      try {
        requests.onCompleted();
      } catch (RuntimeException ignored) {
        // The call already failed; nothing left to close.
      }
    }

    private ReflectionException translate(Status status) {
      return switch (status.getCode()) {
        case UNIMPLEMENTED -> new ReflectionException(ReflectionException.Kind.NOT_SUPPORTED,
            endpoint + ": does not serve " + protocol.method().getServiceName() + " (reflection disabled?)");
        case DEADLINE_EXCEEDED -> timeout();
        default -> new ReflectionException(ReflectionException.Kind.UNAVAILABLE,
            endpoint + ": reflection call failed: " + status.getCode()
                + (status.getDescription() == null ? "" : " " + status.getDescription()));
      };
    }

    private ReflectionException timeout() {
      return new ReflectionException(ReflectionException.Kind.TIMEOUT,
          endpoint + ": reflection did not answer within the probe timeout");
    }

    private ReflectionException bad(String what) {
      return new ReflectionException(ReflectionException.Kind.BAD_ANSWER,
          endpoint + " (" + protocol.method().getServiceName() + "): " + what);
    }

    private static String describe(ServerReflectionRequest request) {
      return switch (request.getMessageRequestCase()) {
        case LIST_SERVICES -> "list_services";
        case FILE_CONTAINING_SYMBOL -> "file_containing_symbol " + request.getFileContainingSymbol();
        case FILE_BY_FILENAME -> "file_by_filename " + request.getFileByFilename();
        default -> request.getMessageRequestCase().toString();
      };
    }

    @Override
    public void onNext(ServerReflectionResponse value) {
      answers.add(value);
    }

    @Override
    public void onError(Throwable t) {
      answers.add(t);
    }

    @Override
    public void onCompleted() {
      answers.add(COMPLETED);
    }
  }
}
