package dev.protomatch.registry;

import java.util.Collections;
import java.util.SortedMap;
import java.util.TreeMap;

/**
 * An immutable snapshot of the registry, the input of the routing decision. It holds no arrival times:
 * the decision depends on which endpoints are live, never on the order they came in.
 *
 * @param version increases with every change; equal versions mean equal states
 */
public record RegistryState(long version, SortedMap<EndpointAddress, EndpointState> endpoints) {

  public static final RegistryState EMPTY = new RegistryState(0, new TreeMap<>());

  public RegistryState {
    endpoints = Collections.unmodifiableSortedMap(new TreeMap<>(endpoints));
  }
}
