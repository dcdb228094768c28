package dev.protomatch.registry;

import java.util.List;
import java.util.Map;

/**
 * A validated registration request (the registration API checks the wire message, then builds this).
 *
 * @param client who is registering, for per-client limits and the admin view
 */
public record EndpointRegistration(
    EndpointAddress address, Locality locality, Map<String, String> labels, int weight,
    List<Advertisement> services, String client) {

  public EndpointRegistration {
    labels = Map.copyOf(labels);
    services = List.copyOf(services);
  }
}
