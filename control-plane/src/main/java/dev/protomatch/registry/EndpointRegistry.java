package dev.protomatch.registry;

import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;

/**
 * Where protomatch keeps the endpoints it knows. The in-memory implementation is the embedded default;
 * {@link EtcdEndpointRegistry} is shared by several control-plane replicas through etcd, so the contract is
 * phrased in terms such a store can keep: leases with TTLs, whole-record replacement, and snapshots with a
 * version. Implementations backed by a remote store throw {@link RegistryUnavailableException} from
 * mutations that cannot reach it.
 *
 * <p>Implementations take time from an injected clock, so lease expiry is testable without sleeping.
 */
public interface EndpointRegistry {

  /**
   * Adds or replaces the endpoint at the registration's address and grants a new lease (the previous
   * lease at that address, if any, stops being valid). Only the registrant that holds the address (the same
   * {@link EndpointRegistration#client()}) may replace it; the check and the write are one atomic step.
   *
   * @throws AddressTakenException if a live registration of another client, or a static endpoint, holds the
   *     address
   */
  Lease register(EndpointRegistration registration, Duration ttl);

  /**
   * The client whose live registration holds {@code leaseId}; empty if this registry does not know the lease
   * (expired, replaced, never granted, or, with etcd, not yet seen by this replica).
   */
  Optional<String> clientOfLease(String leaseId);

  /** Extends a live lease by its TTL; empty if the lease expired, was replaced, or never existed. */
  Optional<Lease> renew(String leaseId);

  /** Removes the endpoint holding this lease now; false if no such lease. */
  boolean deregister(String leaseId);

  /**
   * Replaces the set of static endpoints (from the config file): address to the services declared there.
   * Endpoints that stay keep their probe results.
   */
  void replaceStaticEndpoints(Map<EndpointAddress, Set<String>> servicesByAddress);

  /**
   * Records a probe outcome, unless the endpoint was re-registered (or removed) since the probe started.
   *
   * @param generation the {@link EndpointState#generation()} the probe was started for
   */
  void recordProbe(EndpointAddress address, long generation, ProbeState outcome);

  /** Removes endpoints whose lease expired at least {@code retention} ago; returns what it removed. */
  List<EndpointState> removeExpired(Duration retention);

  /** Number of registered (not static) endpoints registered by {@code client}; cheap (no snapshot). */
  int countByClient(String client);

  /** Number of registered (not static) endpoints of all clients; cheap (no snapshot). */
  int registeredCount();

  /** Whether an endpoint is registered (not static) at {@code address}; cheap (no snapshot). */
  boolean isRegistered(EndpointAddress address);

  /** The current state; cheap when nothing changed since the last call. */
  RegistryState state();

  /**
   * Called after the state changes in a way that can change a decision or call for a probe, never under the
   * registry's lock: on the mutating thread in memory, on the registry's own thread for etcd (where changes also
   * arrive from other replicas). Renewals of live leases are not announced (they only move an expiry).
   */
  void addListener(Runnable onChange);
}
