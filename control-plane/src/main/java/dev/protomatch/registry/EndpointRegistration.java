package dev.protomatch.registry;

import java.util.List;
import java.util.Map;

/**
 * A validated registration request (the registration API checks the wire message, then builds this).
 *
 * @param address an IP literal in {@linkplain IpLiterals canonical form} and a port
 * @param weight load-balancing weight, 1..{@value #MAX_WEIGHT}
 * @param client who is registering, for per-client limits and the admin view
 */
public record EndpointRegistration(
    EndpointAddress address, Locality locality, Map<String, String> labels, int weight,
    List<Advertisement> services, String client) {

  /**
   * The largest weight an endpoint may register. Envoy requires the endpoint weights of a locality, and
   * the locality weights of a priority, to sum to at most 2^32-1; with weights up to 10,000 that takes
   * more than 429,496 endpoints in one cluster (static endpoints weigh 1).
   */
  public static final int MAX_WEIGHT = 10_000;

  public EndpointRegistration {
    if (weight < 1 || weight > MAX_WEIGHT) {
      throw new IllegalArgumentException("weight must be within 1.." + MAX_WEIGHT + ", got " + weight);
    }
    labels = Map.copyOf(labels);
    services = List.copyOf(services);
  }
}
