package dev.protomatch.descriptor;

import com.google.protobuf.DescriptorProtos.FileDescriptorProto;
import com.google.protobuf.DescriptorProtos.FileDescriptorSet;
import com.google.protobuf.Descriptors.DescriptorValidationException;
import com.google.protobuf.Descriptors.FileDescriptor;
import com.google.protobuf.Descriptors.ServiceDescriptor;
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
 * is reused rather than repeated.
 */
final class DescriptorSetResolver {
  private final String source;
  private final Map<String, FileDescriptorProto> protosByName = new HashMap<>();
  private final Map<String, FileDescriptor> built = new HashMap<>();
  private final LinkedHashSet<String> inProgress = new LinkedHashSet<>();

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

  private FileDescriptor build(String name, String importedBy) {
    FileDescriptor done = built.get(name);
    if (done != null) {
      return done;
    }
    FileDescriptorProto proto = protosByName.get(name);
    if (proto == null) {
      throw new InvalidDescriptorException(source + ": file '" + importedBy + "' imports '" + name
          + "', which the descriptor set does not contain (write it with protoc --include_imports)");
    }
    if (!inProgress.add(name)) {
      throw new InvalidDescriptorException(source + ": import cycle: "
          + String.join(" -> ", inProgress) + " -> " + name);
    }
    FileDescriptor[] dependencies = new FileDescriptor[proto.getDependencyCount()];
    for (int i = 0; i < dependencies.length; i++) {
      dependencies[i] = build(proto.getDependency(i), name);
    }
    inProgress.remove(name);
    try {
      FileDescriptor file = FileDescriptor.buildFrom(proto, dependencies);
      built.put(name, file);
      return file;
    } catch (DescriptorValidationException e) {
      throw new InvalidDescriptorException(source + ": file '" + name + "' is invalid: "
          + e.getProblemSymbolName() + ": " + e.getDescription());
    }
  }
}
