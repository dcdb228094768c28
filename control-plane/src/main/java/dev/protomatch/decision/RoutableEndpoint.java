package dev.protomatch.decision;

import dev.protomatch.descriptor.DescriptorHash;
import dev.protomatch.registry.EndpointAddress;
import dev.protomatch.registry.Locality;
import java.util.Optional;

/** An endpoint that may take traffic, with what load balancing needs and the build it serves. */
public record RoutableEndpoint(EndpointAddress address, Locality locality, int weight, Optional<DescriptorHash> api) {}
