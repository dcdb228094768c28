package dev.protomatch.policy;

import java.util.List;
import java.util.Optional;

/**
 * A validated policy file: global settings and one policy per gRPC service. Built only by
 * {@link PolicyParser}, after which every value is trusted.
 */
public record PolicyDocument(Settings settings, List<ServicePolicy> services) {
  public PolicyDocument {
    services = List.copyOf(services);
  }

  public Optional<ServicePolicy> service(String fullName) {
    return services.stream().filter(s -> s.service().equals(fullName)).findFirst();
  }

  /** The document with every setting at its default and no services (what runs with no file). */
  public static PolicyDocument empty() {
    return new PolicyDocument(Settings.defaults(), List.of());
  }
}
