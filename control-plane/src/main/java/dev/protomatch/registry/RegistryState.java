package dev.protomatch.registry;

import dev.protomatch.descriptor.DescriptorHash;
import java.time.Instant;
import java.util.Collections;
import java.util.Map;
import java.util.SortedMap;
import java.util.TreeMap;

/**
 * An immutable snapshot of the registry, the input of the routing decision.
 *
 * @param version increases with every change; equal versions mean equal states
 * @param apiFirstSeen for every api hash some endpoint currently advertises or was probed with, when it
 *     first appeared: the "newest" policy follows the most recent one
 */
public record RegistryState(
    long version, SortedMap<EndpointAddress, EndpointState> endpoints, Map<DescriptorHash, Instant> apiFirstSeen) {

  public static final RegistryState EMPTY = new RegistryState(0, new TreeMap<>(), Map.of());

  public RegistryState {
    endpoints = Collections.unmodifiableSortedMap(new TreeMap<>(endpoints));
    apiFirstSeen = Map.copyOf(apiFirstSeen);
  }
}
