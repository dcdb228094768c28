package dev.protomatch.decision;

import java.time.Instant;
import java.util.Collections;
import java.util.SortedMap;
import java.util.TreeMap;

/**
 * Which endpoints take which traffic, for every service with a policy: the one input the xDS snapshot is
 * built from and the admin API explains.
 *
 * @param registryVersion the {@link dev.protomatch.registry.RegistryState#version()} decided on
 */
public record RoutingDecision(Instant decidedAt, long registryVersion, SortedMap<String, ServiceDecision> services) {
  public RoutingDecision {
    services = Collections.unmodifiableSortedMap(new TreeMap<>(services));
  }
}
