package dev.protomatch.registry;

import java.time.Instant;
import java.util.Collections;
import java.util.Optional;
import java.util.SortedMap;
import java.util.TreeMap;

/**
 * Everything the registry knows about one endpoint at one moment. Immutable: changes produce a new
 * state, so a {@link RegistryState} can be read by the decision while the registry moves on.
 *
 * @param client who registered it (the peer address of the registration call), empty for static endpoints
 * @param advertised per service full name, what the endpoint claims to serve
 * @param lease empty for static endpoints
 * @param probe the last reflection probe's outcome
 * @param generation changes whenever the endpoint is (re-)registered or (re-)declared, so a probe that
 *     started before a re-registration cannot overwrite what the new process serves
 */
public record EndpointState(
    long generation,
    EndpointAddress address,
    EndpointSource source,
    Locality locality,
    SortedMap<String, String> labels,
    int weight,
    SortedMap<String, Advertisement> advertised,
    Optional<Lease> lease,
    String client,
    Instant registeredAt,
    ProbeState probe) {

  public EndpointState {
    labels = Collections.unmodifiableSortedMap(new TreeMap<>(labels));
    advertised = Collections.unmodifiableSortedMap(new TreeMap<>(advertised));
  }

  public EndpointState withProbe(ProbeState newProbe) {
    return new EndpointState(generation, address, source, locality, labels, weight, advertised, lease, client,
        registeredAt, newProbe);
  }

  public EndpointState withLease(Lease newLease) {
    return new EndpointState(generation, address, source, locality, labels, weight, advertised, Optional.of(newLease), client,
        registeredAt, probe);
  }

  /** Whether the lease (if any) has run out at {@code now}. Static endpoints never expire. */
  public boolean leaseExpired(Instant now) {
    return lease.map(l -> l.isExpired(now)).orElse(false);
  }
}
