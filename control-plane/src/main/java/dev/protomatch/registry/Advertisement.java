package dev.protomatch.registry;

import dev.protomatch.descriptor.DescriptorHash;
import dev.protomatch.descriptor.HashLevel;
import dev.protomatch.descriptor.ServiceFingerprint;
import java.util.Optional;

/**
 * What an endpoint says about one service it serves. A registration carries hashes, a full fingerprint
 * (when it sent its descriptor set), or, for static endpoints from the config file, nothing but the name.
 */
public record Advertisement(
    String service, Optional<DescriptorHash> api, Optional<DescriptorHash> schema,
    Optional<ServiceFingerprint> fingerprint) {

  public static Advertisement nameOnly(String service) {
    return new Advertisement(service, Optional.empty(), Optional.empty(), Optional.empty());
  }

  public static Advertisement of(ServiceFingerprint fingerprint) {
    return new Advertisement(fingerprint.service(), Optional.of(fingerprint.api()),
        Optional.of(fingerprint.schema()), Optional.of(fingerprint));
  }

  public Optional<DescriptorHash> hash(HashLevel level) {
    return level == HashLevel.API ? api : schema;
  }
}
