package dev.protomatch.descriptor;

import com.google.protobuf.DescriptorProtos.FileDescriptorProto;
import com.google.protobuf.DescriptorProtos.FileDescriptorSet;
import com.google.protobuf.Descriptors.DescriptorValidationException;
import com.google.protobuf.Descriptors.FileDescriptor;
import com.google.protobuf.Descriptors.ServiceDescriptor;
import java.util.ArrayDeque;
import java.util.Deque;
import java.util.HashMap;
import java.util.LinkedHashSet;
import java.util.Map;
import java.util.SortedMap;
import java.util.TreeMap;

/**
 * Links the files of a FileDescriptorSet into descriptors, in whatever order the producer wrote them
 * (protoc writes dependencies first, reflection servers need not).
 *
 * <p>Everything wrong with the input becomes an {@link InvalidDescriptorException} whose message names
 * the file and the problem; protobuf-java's own validation (unresolvable type names, duplicate symbols)
 * is reused rather than repeated. A set of more than {@link #MAX_FILES} files is refused before any is
 * linked, and imports are followed with a stack of our own, not the thread's. protobuf-java follows public
 * imports recursively when it links a file, so chains of them deeper than {@link #MAX_PUBLIC_IMPORT_DEPTH}
 * are refused before it sees them: no input ends in a {@link StackOverflowError}.
 */
public final class DescriptorSetResolver {
  /** The most files a descriptor set may hold: far above what a service imports, bounded for hostile input. */
  public static final int MAX_FILES = 2_000;
  /** The deepest chain of {@code import public} accepted (protoc users rarely nest them at all). */
  public static final int MAX_PUBLIC_IMPORT_DEPTH = 64;

  private final String source;
  private final Map<String, FileDescriptorProto> protosByName = new HashMap<>();
  private final Map<String, FileDescriptor> built = new HashMap<>();
  /** Per built file: the longest chain of public imports starting at it (itself counts 1). */
  private final Map<String, Integer> publicDepth = new HashMap<>();

  private DescriptorSetResolver(String source) {
    this.source = source;
  }

  /**
   * Every service defined in {@code set}, keyed by full name.
   *
   * @param source names the input in error messages, e.g. a file path or an endpoint address
   */
  static SortedMap<String, ServiceDescriptor> services(FileDescriptorSet set, String source) {
    DescriptorSetResolver resolver = new DescriptorSetResolver(source);
    if (set.getFileCount() == 0) {
      throw new InvalidDescriptorException(source
          + ": not a FileDescriptorSet, or an empty one (expected the output of protoc --descriptor_set_out"
          + " --include_imports)");
    }
    if (set.getFileCount() > MAX_FILES) {
      throw new InvalidDescriptorException(source + ": the descriptor set holds " + set.getFileCount()
          + " files, more than the " + MAX_FILES + " accepted");
    }
    for (FileDescriptorProto file : set.getFileList()) {
      if (file.getName().isEmpty()) {
        throw new InvalidDescriptorException(source + ": a file in the descriptor set has no name");
      }
      FileDescriptorProto earlier = resolver.protosByName.putIfAbsent(file.getName(), file);
      if (earlier != null && !earlier.equals(file)) {
        throw new InvalidDescriptorException(source + ": file '" + file.getName()
            + "' appears twice in the descriptor set with different contents");
      }
    }
    SortedMap<String, ServiceDescriptor> services = new TreeMap<>();
    for (String name : resolver.protosByName.keySet()) {
      for (ServiceDescriptor service : resolver.build(name, null).getServices()) {
        ServiceDescriptor earlier = services.putIfAbsent(service.getFullName(), service);
        if (earlier != null) {
          throw new InvalidDescriptorException(source + ": service " + service.getFullName()
              + " is defined in both '" + earlier.getFile().getName() + "' and '" + service.getFile().getName() + "'");
        }
      }
    }
    return services;
  }

  /** Builds {@code name} after every file it imports, depth first, on an explicit stack. */
  private FileDescriptor build(String name, String importedBy) {
    FileDescriptor done = built.get(name);
    if (done != null) {
      return done;
    }
    Deque<Pending> stack = new ArrayDeque<>();
    LinkedHashSet<String> inProgress = new LinkedHashSet<>(); // the files on the stack, for the cycle message
    push(stack, inProgress, name, importedBy);
    while (!stack.isEmpty()) {
      Pending top = stack.peek();
      if (top.next < top.proto.getDependencyCount()) {
        String dependency = top.proto.getDependency(top.next++);
        if (!built.containsKey(dependency)) {
          push(stack, inProgress, dependency, top.proto.getName());
        }
        continue;
      }
      stack.pop();
      inProgress.remove(top.proto.getName());
      link(top.proto);
    }
    return built.get(name);
  }

  private void push(Deque<Pending> stack, LinkedHashSet<String> inProgress, String name, String importedBy) {
    FileDescriptorProto proto = protosByName.get(name);
    if (proto == null) {
      throw new InvalidDescriptorException(source + ": file '" + importedBy + "' imports '" + name
          + "', which the descriptor set does not contain (write it with protoc --include_imports)");
    }
    if (!inProgress.add(name)) {
      throw new InvalidDescriptorException(source + ": import cycle: "
          + String.join(" -> ", inProgress) + " -> " + name);
    }
    stack.push(new Pending(proto));
  }

  private void link(FileDescriptorProto proto) {
    FileDescriptor[] dependencies = new FileDescriptor[proto.getDependencyCount()];
    for (int i = 0; i < dependencies.length; i++) {
      dependencies[i] = built.get(proto.getDependency(i));
    }
    int depth = 1;
    for (int index : proto.getPublicDependencyList()) {
      if (index >= 0 && index < dependencies.length) { // an index out of range is protobuf-java's to report
        depth = Math.max(depth, 1 + publicDepth.get(proto.getDependency(index)));
      }
    }
    if (depth > MAX_PUBLIC_IMPORT_DEPTH) {
      throw new InvalidDescriptorException(source + ": file '" + proto.getName() + "' starts a chain of "
          + depth + " public imports, more than the " + MAX_PUBLIC_IMPORT_DEPTH + " accepted");
    }
    publicDepth.put(proto.getName(), depth);
    try {
      FileDescriptor file = FileDescriptor.buildFrom(proto, dependencies);
      for (com.google.protobuf.Descriptors.Descriptor message : file.getMessageTypes()) {
        checkMapEntries(message, source, proto.getName());
      }
      built.put(proto.getName(), file);
    } catch (DescriptorValidationException e) {
      throw new InvalidDescriptorException(source + ": file '" + proto.getName() + "' is invalid: "
          + e.getProblemSymbolName() + ": " + e.getDescription());
    } catch (RuntimeException e) { // protobuf-java's linker throws these on some malformed files, e.g. a field without a type
      throw new InvalidDescriptorException(source + ": file '" + proto.getName() + "' is invalid: protobuf-java cannot link"
          + " it (" + e.getClass().getSimpleName() + "); check that every field has a type");
    }
  }

  /**
   * protobuf-java links a message marked {@code map_entry} whatever its fields; a map field's entry must have its
   * key (1) and value (2), which the canonical form reads (a fuzzed set without them crashed it).
   */
  private static void checkMapEntries(com.google.protobuf.Descriptors.Descriptor message, String source, String file) {
    if (message.getOptions().getMapEntry()
        && (message.findFieldByNumber(1) == null || message.findFieldByNumber(2) == null)) {
      throw new InvalidDescriptorException(source + ": file '" + file + "' is invalid: " + message.getFullName()
          + " is a map entry without its key (1) and value (2) fields");
    }
    for (com.google.protobuf.Descriptors.Descriptor nested : message.getNestedTypes()) {
      checkMapEntries(nested, source, file);
    }
  }

  /** A file on the stack and the index of the next import to follow. */
  private static final class Pending {
    final FileDescriptorProto proto;
    int next;

    Pending(FileDescriptorProto proto) {
      this.proto = proto;
    }
  }
}
