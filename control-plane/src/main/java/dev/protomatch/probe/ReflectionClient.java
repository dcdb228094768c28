package dev.protomatch.probe;

import com.google.protobuf.ByteString;
import com.google.protobuf.DescriptorProtos.FileDescriptorProto;
import com.google.protobuf.DescriptorProtos.FileDescriptorSet;
import com.google.protobuf.InvalidProtocolBufferException;
import io.grpc.Channel;
import io.grpc.reflection.v1.ServerReflectionRequest;
import io.grpc.reflection.v1.ServerReflectionResponse;
import io.grpc.reflection.v1.ServiceResponse;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collection;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Asks an endpoint's gRPC server reflection which services it serves and for the files defining them.
 *
 * <p>The whole exchange runs on one stream under one deadline, so a hanging endpoint costs at most
 * {@code timeout}. Answers are untrusted and bounded: the stream reads one answer per request (see
 * {@link ReflectionStream}), all answers of one probe together may hold {@link #MAX_PROBE_BYTES} and
 * {@link #MAX_FILES} files, each file must parse, every answer must answer what was asked (a file request
 * must bring the asked-for file, a symbol request a file defining the symbol, a file already received must
 * not come back different), and every import must be answered. Each request therefore brings at least one
 * new file, so a server that never makes progress fails the probe at once rather than at the timeout.
 * A broken rule fails the probe with a {@link ReflectionException} saying which; the stream is cancelled
 * when the probe ends, however it ends.
 */
public final class ReflectionClient {
  /** Bounds what a lying endpoint can make us hold; real services are far below it. */
  static final int MAX_FILES = dev.protomatch.descriptor.DescriptorSetResolver.MAX_FILES;

  /**
   * The byte budget of one probe: all answers together. A service's files with all their imports are
   * kilobytes to a few MiB, so 16 MiB leaves room for the largest API surfaces, while a lying server can make
   * one probe hold at most 16 MiB (and {@code probe.concurrency} probes, 32 by default, 512 MiB) instead of
   * up to {@link #MAX_FILES} answers of 4 MiB each.
   */
  static final long MAX_PROBE_BYTES = 16L * 1024 * 1024;

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
      try {
        return fetch(channel, endpoint, ReflectionProtocol.V1ALPHA);
      } catch (ReflectionException alpha) {
        if (alpha.kind() != ReflectionException.Kind.NOT_SUPPORTED) {
          throw alpha;
        }
        // Both were tried: say so, rather than name only the last one.
        throw new ReflectionException(ReflectionException.Kind.NOT_SUPPORTED, endpoint + ": serves neither "
            + ReflectionProtocol.V1.method().getServiceName() + " nor " + ReflectionProtocol.V1ALPHA.method().getServiceName()
            + " (reflection disabled?)");
      }
    }
  }

  /** Probes with one protocol only. */
  public ReflectionResult fetch(Channel channel, String endpoint, ReflectionProtocol protocol)
      throws ReflectionException {
    long deadlineNanos = System.nanoTime() + timeout.toNanos();
    try (ReflectionStream stream = new ReflectionStream(channel, protocol, endpoint, deadlineNanos, MAX_PROBE_BYTES)) {
      List<String> services = new ArrayList<>();
      for (ServiceResponse service : stream.ask(ServerReflectionRequest.newBuilder().setListServices("").build())
          .getListServicesResponse().getServiceList()) {
        services.add(service.getName());
      }
      Map<String, FileDescriptorProto> files = new LinkedHashMap<>();
      for (String service : services) {
        if (!definesService(files.values(), service)) {
          ServerReflectionRequest request = ServerReflectionRequest.newBuilder().setFileContainingSymbol(service).build();
          List<FileDescriptorProto> answered = addFiles(stream, stream.ask(request), files);
          if (!definesService(answered, service)) {
            throw stream.bad("asked " + ReflectionStream.describe(request) + ", the answer's files "
                + names(answered) + " do not define it");
          }
        }
      }
      for (List<String> missing = missingImports(files); !missing.isEmpty(); missing = missingImports(files)) {
        for (String name : missing) {
          if (files.containsKey(name)) {
            continue; // an earlier answer in this round brought it along
          }
          ServerReflectionRequest request = ServerReflectionRequest.newBuilder().setFileByFilename(name).build();
          List<FileDescriptorProto> answered = addFiles(stream, stream.ask(request), files);
          if (answered.stream().noneMatch(file -> file.getName().equals(name))) {
            throw stream.bad("asked " + ReflectionStream.describe(request) + ", the answer holds "
                + names(answered) + " instead");
          }
        }
      }
      return new ReflectionResult(protocol, services, FileDescriptorSet.newBuilder().addAllFile(files.values()).build());
    }
  }

  /**
   * Adds an answer's files to {@code files} and returns them. A file named like one already received must be
   * that same file: otherwise the server contradicts itself, and keeping either would hide it.
   */
  private static List<FileDescriptorProto> addFiles(ReflectionStream stream, ServerReflectionResponse response,
                                                    Map<String, FileDescriptorProto> files) throws ReflectionException {
    List<FileDescriptorProto> answered = new ArrayList<>();
    for (ByteString bytes : response.getFileDescriptorResponse().getFileDescriptorProtoList()) {
      FileDescriptorProto file;
      try {
        file = FileDescriptorProto.parseFrom(bytes);
      } catch (InvalidProtocolBufferException e) {
        throw stream.bad("a file in the reflection answer is not a FileDescriptorProto (" + e.getMessage() + ")");
      }
      if (file.getName().isEmpty()) {
        throw stream.bad("a file in the reflection answer has no name");
      }
      FileDescriptorProto known = files.putIfAbsent(file.getName(), file);
      if (known != null && !known.equals(file)) {
        throw stream.bad("the server sent two different files named " + file.getName());
      }
      if (files.size() > MAX_FILES) {
        throw stream.bad("the reflection answers hold more than the probe's budget of " + MAX_FILES + " files");
      }
      answered.add(file);
    }
    return answered;
  }

  private static boolean definesService(Collection<FileDescriptorProto> files, String service) {
    for (FileDescriptorProto file : files) {
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

  /** The names of an answer's files, at most a few, for a message. */
  private static String names(List<FileDescriptorProto> files) {
    List<String> names = files.stream().limit(5).map(FileDescriptorProto::getName).toList();
    return files.size() > names.size() ? names + " and " + (files.size() - names.size()) + " more" : names.toString();
  }
}
