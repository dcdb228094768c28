package dev.protomatch.descriptor;

import com.google.protobuf.DescriptorProtos.FileDescriptorSet;
import com.google.protobuf.Descriptors.FileDescriptor;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * FileDescriptorSets from descriptors compiled into a running program (protobuf-java's generated
 * classes), so a Java server can advertise exactly what it serves.
 */
public final class RuntimeDescriptors {
  private RuntimeDescriptors() {}

  /** The given files and everything they import, dependencies first, each file once. */
  public static FileDescriptorSet fileDescriptorSet(FileDescriptor... roots) {
    Map<String, FileDescriptor> ordered = new LinkedHashMap<>();
    for (FileDescriptor root : roots) {
      addWithDependencies(root, ordered);
    }
    FileDescriptorSet.Builder set = FileDescriptorSet.newBuilder();
    ordered.values().forEach(file -> set.addFile(file.toProto()));
    return set.build();
  }

  private static void addWithDependencies(FileDescriptor file, Map<String, FileDescriptor> ordered) {
    if (ordered.containsKey(file.getName())) {
      return;
    }
    for (FileDescriptor dependency : file.getDependencies()) {
      addWithDependencies(dependency, ordered);
    }
    ordered.put(file.getName(), file);
  }
}
