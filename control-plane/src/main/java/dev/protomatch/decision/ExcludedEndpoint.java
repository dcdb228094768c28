package dev.protomatch.decision;

import dev.protomatch.registry.EndpointAddress;

/** An endpoint that claims the service but takes none of its traffic, and why. */
public record ExcludedEndpoint(EndpointAddress address, ExclusionReason reason) {}
