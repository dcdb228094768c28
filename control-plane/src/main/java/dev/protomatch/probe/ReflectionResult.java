package dev.protomatch.probe;

import com.google.protobuf.DescriptorProtos.FileDescriptorSet;
import java.util.List;

/**
 * What an endpoint's reflection service said: the services it serves and the files that define them
 * (with every import).
 *
 * @param services full names the server lists, reflection itself included
 */
public record ReflectionResult(ReflectionProtocol protocol, List<String> services, FileDescriptorSet files) {
  public ReflectionResult {
    services = List.copyOf(services);
  }
}
