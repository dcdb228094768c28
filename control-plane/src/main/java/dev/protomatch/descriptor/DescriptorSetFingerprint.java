package dev.protomatch.descriptor;

import java.util.Collections;
import java.util.SortedMap;
import java.util.TreeMap;

/** The fingerprints of every service defined in one descriptor set, keyed by service full name. */
public record DescriptorSetFingerprint(SortedMap<String, ServiceFingerprint> services) {

  public DescriptorSetFingerprint {
    services = Collections.unmodifiableSortedMap(new TreeMap<>(services));
  }

  /**
   * The fingerprint of one service.
   *
   * @throws InvalidDescriptorException naming the services the set does define
   */
  public ServiceFingerprint service(String fullName, String source) {
    ServiceFingerprint fingerprint = services.get(fullName);
    if (fingerprint == null) {
      throw new InvalidDescriptorException(source + ": no service named '" + fullName + "' (the descriptor set"
          + (services.isEmpty() ? " defines no services)" : " defines " + String.join(", ", services.keySet()) + ")"));
    }
    return fingerprint;
  }
}
