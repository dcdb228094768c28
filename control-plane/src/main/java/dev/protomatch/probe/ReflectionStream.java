package dev.protomatch.probe;

import io.grpc.CallOptions;
import io.grpc.Channel;
import io.grpc.ClientCall;
import io.grpc.Metadata;
import io.grpc.Status;
import io.grpc.reflection.v1.ServerReflectionRequest;
import io.grpc.reflection.v1.ServerReflectionResponse;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.TimeUnit;

/**
 * One reflection stream of one probe: each {@link #ask} sends one request and takes exactly one answer.
 *
 * <p>Flow control is manual: the stream asks gRPC for one message per request, so whatever a server sends
 * unasked waits in the server and in the HTTP/2 window and is never read into this process. At most one
 * answer is ever buffered here. Every answer counts against the probe's byte budget; the stream fails with
 * {@link ReflectionException.Kind#BAD_ANSWER} once the answers together exceed it, and rejects any single
 * answer above {@link #MAX_ANSWER_BYTES} before reading it.
 *
 * <p>{@link #close()} cancels the call (it does not half-close), so the server sees the stream end at once,
 * whether the probe succeeded, failed or ran out of time; the call's deadline is the probe's deadline.
 *
 * <p>Not thread-safe: one probing thread calls {@link #ask} and {@link #close()}; gRPC's callback thread
 * only hands arrivals over through {@link #arrivals}.
 */
final class ReflectionStream implements AutoCloseable {
  /**
   * Largest single answer read. grpc's default inbound limit, stated here so that a change of that default
   * or of a channel's setting cannot raise it: one answer is one file and its imports, far below 4 MiB for
   * real services.
   */
  static final int MAX_ANSWER_BYTES = 4 * 1024 * 1024;

  private final ClientCall<ServerReflectionRequest, ServerReflectionResponse> call;
  private final ReflectionProtocol protocol;
  private final String endpoint;
  private final long deadlineNanos;
  private final long maxBytes;
  /**
   * Answers and the call's end, written by gRPC's callback thread, taken by the probing thread. Two slots
   * suffice: the probing thread requests the next message only after taking the previous one, so at most
   * one message and the close are ever queued.
   */
  private final BlockingQueue<Object> arrivals = new ArrayBlockingQueue<>(2);
  /** Probing thread only. */
  private long bytesReceived;
  /** Probing thread only. */
  private boolean closed;

  /**
   * Starts the call.
   *
   * @param maxBytes the probe's byte budget: the most all answers together may hold
   */
  ReflectionStream(Channel channel, ReflectionProtocol protocol, String endpoint, long deadlineNanos, long maxBytes) {
    this.protocol = protocol;
    this.endpoint = endpoint;
    this.deadlineNanos = deadlineNanos;
    this.maxBytes = maxBytes;
    CallOptions options = CallOptions.DEFAULT
        .withDeadlineAfter(Math.max(1, deadlineNanos - System.nanoTime()), TimeUnit.NANOSECONDS)
        .withMaxInboundMessageSize(MAX_ANSWER_BYTES);
    this.call = channel.newCall(protocol.method(), options);
    call.start(new Arrivals(), new Metadata());
  }

  /**
   * Sends {@code request} and returns its answer, checked to be a non-error answer of the kind asked for and,
   * where the server names the request it answers (every known implementation does), for this request.
   */
  ServerReflectionResponse ask(ServerReflectionRequest request) throws ReflectionException {
    call.sendMessage(request);
    call.request(1);
    Object arrival;
    try {
      arrival = arrivals.poll(Math.max(0, deadlineNanos - System.nanoTime()), TimeUnit.NANOSECONDS);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new ReflectionException(ReflectionException.Kind.UNAVAILABLE, endpoint + ": reflection probe interrupted");
    }
    if (arrival == null) {
      throw timeout();
    }
    if (arrival instanceof Status status) {
      throw ended(status, request);
    }
    ServerReflectionResponse response = (ServerReflectionResponse) arrival;
    bytesReceived += response.getSerializedSize();
    if (bytesReceived > maxBytes) {
      throw bad("the reflection answers exceed the probe's budget of " + mebibytes(maxBytes) + " ("
          + bytesReceived + " bytes with the answer to " + describe(request) + ")");
    }
    if (response.hasErrorResponse()) {
      throw bad("the server answered " + describe(request) + " with error "
          + Status.fromCodeValue(response.getErrorResponse().getErrorCode()).getCode() + ": "
          + response.getErrorResponse().getErrorMessage());
    }
    if (response.hasOriginalRequest()
        && !sameQuestion(response.getOriginalRequest(), request)) {
      throw bad("asked " + describe(request) + ", the server answered " + describe(response.getOriginalRequest()));
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

  /** A failure of this stream's probe, in the stream's words: the endpoint and the protocol spoken. */
  ReflectionException bad(String what) {
    return new ReflectionException(ReflectionException.Kind.BAD_ANSWER,
        endpoint + " (" + protocol.method().getServiceName() + "): " + what);
  }

  /** Cancels the call, so the server sees the stream end; idempotent. */
  @Override
  public void close() {
    if (!closed) {
      closed = true;
      call.cancel("reflection probe finished", null);
    }
  }

  static String describe(ServerReflectionRequest request) {
    return switch (request.getMessageRequestCase()) {
      case LIST_SERVICES -> "list_services";
      case FILE_CONTAINING_SYMBOL -> "file_containing_symbol " + request.getFileContainingSymbol();
      case FILE_BY_FILENAME -> "file_by_filename " + request.getFileByFilename();
      case FILE_CONTAINING_EXTENSION -> "file_containing_extension "
          + request.getFileContainingExtension().getContainingType();
      case ALL_EXTENSION_NUMBERS_OF_TYPE -> "all_extension_numbers_of_type " + request.getAllExtensionNumbersOfType();
      case MESSAGEREQUEST_NOT_SET -> "an empty request";
    };
  }

  /** The same question, whatever {@code host} says (a proxy may rewrite it). */
  private static boolean sameQuestion(ServerReflectionRequest answered, ServerReflectionRequest asked) {
    return answered.toBuilder().clearHost().build().equals(asked.toBuilder().clearHost().build());
  }

  private ReflectionException ended(Status status, ServerReflectionRequest request) {
    return switch (status.getCode()) {
      case OK -> bad("the server closed the reflection stream before answering " + describe(request));
      case UNIMPLEMENTED -> new ReflectionException(ReflectionException.Kind.NOT_SUPPORTED,
          endpoint + ": does not serve " + protocol.method().getServiceName() + " (reflection disabled?)");
      case DEADLINE_EXCEEDED -> timeout();
      case RESOURCE_EXHAUSTED -> tooLarge(status)
          ? bad("the answer to " + describe(request) + " is larger than the " + mebibytes(MAX_ANSWER_BYTES)
              + " one answer may hold (" + status.getDescription() + ")")
          : unavailable(status);
      default -> unavailable(status);
    };
  }

  /** True for grpc-java's own verdict on an inbound message above {@link #MAX_ANSWER_BYTES}. */
  private static boolean tooLarge(Status status) {
    return status.getDescription() != null && status.getDescription().startsWith("gRPC message exceeds maximum size");
  }

  private ReflectionException unavailable(Status status) {
    return new ReflectionException(ReflectionException.Kind.UNAVAILABLE,
        endpoint + ": reflection call failed: " + status.getCode()
            + (status.getDescription() == null ? "" : " " + status.getDescription()));
  }

  private ReflectionException timeout() {
    return new ReflectionException(ReflectionException.Kind.TIMEOUT,
        endpoint + ": reflection did not answer within the probe timeout");
  }

  private static String mebibytes(long bytes) {
    return bytes % (1024 * 1024) == 0 ? bytes / (1024 * 1024) + " MiB" : bytes + " bytes";
  }

  /** Runs on gRPC's callback thread; hands each arrival to the probing thread and nothing else. */
  private final class Arrivals extends ClientCall.Listener<ServerReflectionResponse> {
    @Override
    public void onMessage(ServerReflectionResponse message) {
      arrivals.offer(message);
    }

    @Override
    public void onClose(Status status, Metadata trailers) {
      arrivals.offer(status);
    }
  }
}
