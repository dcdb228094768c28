package dev.protomatch.descriptor;

import java.util.Collections;
import java.util.SortedMap;
import java.util.TreeMap;

/**
 * Everything protomatch needs to know about one service as one endpoint implements it: both descriptor
 * hashes, and the method surface (so that a policy can ask "does it have SayHelloAgain?" and an exclusion
 * can name the missing methods).
 *
 * @param service full name, e.g. {@code demo.Greeter}
 * @param methods method signatures keyed by method name
 */
public record ServiceFingerprint(
    String service, DescriptorHash api, DescriptorHash schema, SortedMap<String, MethodSignature> methods) {

  public ServiceFingerprint {
    methods = Collections.unmodifiableSortedMap(new TreeMap<>(methods));
  }

  public DescriptorHash hash(HashLevel level) {
    return level == HashLevel.API ? api : schema;
  }
}
