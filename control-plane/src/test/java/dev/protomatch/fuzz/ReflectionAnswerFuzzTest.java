package dev.protomatch.fuzz;

import com.code_intelligence.jazzer.junit.FuzzTest;
import com.google.protobuf.DescriptorProtos.FileDescriptorProto;
import dev.protomatch.descriptor.DescriptorHasher;
import dev.protomatch.descriptor.InvalidDescriptorException;
import dev.protomatch.probe.ReflectionClient;
import dev.protomatch.probe.ReflectionException;
import dev.protomatch.probe.ReflectionProtocol;
import dev.protomatch.probe.ReflectionResult;
import io.grpc.ManagedChannel;
import io.grpc.Server;
import io.grpc.ServerServiceDefinition;
import io.grpc.Status;
import io.grpc.inprocess.InProcessChannelBuilder;
import io.grpc.inprocess.InProcessServerBuilder;
import io.grpc.reflection.v1.ServerReflectionGrpc;
import io.grpc.reflection.v1.ServerReflectionRequest;
import io.grpc.reflection.v1.ServerReflectionResponse;
import io.grpc.stub.ServerCalls;
import io.grpc.stub.StreamObserver;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.time.Duration;
import java.util.HashSet;
import java.util.Set;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;

/**
 * Fuzzes the reflection answer decoder: {@link ReflectionClient#fetch(io.grpc.Channel, String, ReflectionProtocol)}
 * against a reflection server whose answers are the fuzz input, over grpc-java's in-process transport. What turns
 * answer bytes into files is private to ReflectionClient, so the test drives its public API.
 *
 * <p>The input is a script: a sequence of length-delimited {@link ServerReflectionResponse}s (protobuf's
 * {@code writeDelimitedTo} framing). The server answers the client's n-th request with the n-th response, fails
 * the call with {@code INTERNAL} where the script does not parse, and ends the stream when the script runs out,
 * so every exchange is finite and no probe waits for its timeout.
 *
 * <p>Property: every script ends in a {@link ReflectionResult} whose files each have a distinct name, number at
 * most {@link dev.protomatch.descriptor.DescriptorSetResolver#MAX_FILES} and include every file they import (as
 * ReflectionClient documents), or in a {@link ReflectionException} with a message; a result then fingerprints or
 * fails with an {@link InvalidDescriptorException}, as the prober does with it. Anything else is a finding.
 *
 * <p>Seeds in {@code ReflectionAnswerFuzzTestInputs/fetch}: the answers a grpc-java server gives for the demo
 * greeter and for the registration API (whose file imports two well-known types), and an error answer.
 */
class ReflectionAnswerFuzzTest {
  private static final String ENDPOINT = "fuzz-endpoint";
  /** A fresh, small hasher per input: a cache hit would hide the resolver from inputs the fuzzer repeats. */
  private static final long CACHE_BYTES = 1 << 20;
  private static final ReflectionClient CLIENT = new ReflectionClient(Duration.ofSeconds(10));
  /** The script of the call the next fetch makes; set and read on the fuzzing thread only. */
  private static volatile byte[] script = new byte[0];
  private static Server server;
  private static ManagedChannel channel;

  @BeforeAll
  static void startServer() throws IOException {
    String name = InProcessServerBuilder.generateName();
    server = InProcessServerBuilder.forName(name).directExecutor().addService(scriptedReflection()).build().start();
    channel = InProcessChannelBuilder.forName(name).directExecutor().build();
  }

  @AfterAll
  static void stopServer() {
    channel.shutdownNow();
    server.shutdownNow();
  }

  @FuzzTest(maxDuration = "30s")
  void fetch(byte[] input) {
    script = input;
    ReflectionResult result;
    try {
      result = CLIENT.fetch(channel, ENDPOINT, ReflectionProtocol.V1);
    } catch (ReflectionException e) {
      FuzzTargets.requireClearMessage(e.getMessage(), input);
      return;
    }
    Set<String> names = new HashSet<>();
    for (FileDescriptorProto file : result.files().getFileList()) {
      if (file.getName().isEmpty() || !names.add(file.getName())) {
        throw new AssertionError("a result file without a name, or twice: '" + file.getName() + "'");
      }
    }
    if (names.size() > dev.protomatch.descriptor.DescriptorSetResolver.MAX_FILES) {
      throw new AssertionError("a result with " + names.size() + " files");
    }
    for (FileDescriptorProto file : result.files().getFileList()) {
      for (String dependency : file.getDependencyList()) {
        if (!names.contains(dependency)) {
          throw new AssertionError("a result without '" + dependency + "', which '" + file.getName() + "' imports");
        }
      }
    }
    try {
      new DescriptorHasher(CACHE_BYTES).fingerprint(result.files(), ENDPOINT);
    } catch (InvalidDescriptorException e) {
      FuzzTargets.requireClearMessage(e.getMessage(), input);
    }
  }

  /** Answers each request of a call with the next response of the script the call started with. */
  private static ServerServiceDefinition scriptedReflection() {
    return ServerServiceDefinition.builder(ServerReflectionGrpc.getServiceDescriptor())
        .addMethod(ServerReflectionGrpc.getServerReflectionInfoMethod(),
            ServerCalls.asyncBidiStreamingCall(ScriptedCall::new))
        .build();
  }

  /** One reflection call; the transport calls it on one thread at a time. */
  private static final class ScriptedCall implements StreamObserver<ServerReflectionRequest> {
    private final StreamObserver<ServerReflectionResponse> responses;
    private final InputStream answers = new ByteArrayInputStream(script);
    private boolean closed;

    ScriptedCall(StreamObserver<ServerReflectionResponse> responses) {
      this.responses = responses;
    }

    @Override
    public void onNext(ServerReflectionRequest request) {
      if (closed) {
        return;
      }
      ServerReflectionResponse next;
      try {
        next = ServerReflectionResponse.parseDelimitedFrom(answers);
      } catch (IOException e) { // InvalidProtocolBufferException: the script is not framed responses here
        closed = true;
        responses.onError(Status.INTERNAL.withDescription("unparseable script").asRuntimeException());
        return;
      }
      if (next == null) {
        closed = true;
        responses.onCompleted();
        return;
      }
      responses.onNext(next);
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
  }
}
