package dev.protomatch.registry;

import dev.protomatch.util.Listeners;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.TreeMap;
import java.util.UUID;

/**
 * The embedded registry: one process, state in memory, lost on restart (registrations come back with the
 * endpoints' next keep-alive: a NOT_FOUND makes them register again).
 *
 * <p>Mutations take one lock and are O(log n) apart from snapshots: {@link #state()} copies the endpoint map
 * only when it changed since the last call, so a burst of registrations costs one copy per decision, not
 * one per registration. Endpoints are kept sorted by address, so that copy is linear (no sorting): a
 * renewal changes the state (the lease's expiry), and at 10,000 endpoints renewing every 10 s nearly every
 * call copies.
 */
public final class InMemoryEndpointRegistry implements EndpointRegistry {
  private final Clock clock;
  private final Object lock = new Object();
  private final TreeMap<EndpointAddress, EndpointState> registered = new TreeMap<>();
  private final TreeMap<EndpointAddress, EndpointState> statics = new TreeMap<>();
  private final Map<String, EndpointAddress> addressByLease = new HashMap<>();
  private final Map<String, Integer> registeredByClient = new HashMap<>();
  private final Listeners<Void> listeners = new Listeners<>("registry change");
  private long version;
  private long nextGeneration = 1;
  private RegistryState snapshot = RegistryState.EMPTY;

  public InMemoryEndpointRegistry(Clock clock) {
    this.clock = clock;
  }

  @Override
  public Lease register(EndpointRegistration registration, Duration ttl) {
    Instant now = clock.instant();
    Lease lease = new Lease(UUID.randomUUID().toString(), ttl, now.plus(ttl));
    synchronized (lock) {
      EndpointState previous = registered.get(registration.address());
      if (previous != null && !previous.leaseExpired(now) && !previous.client().equals(registration.client())) {
        throw new AddressTakenException(registration.address(), AddressTakenException.Owner.ANOTHER_REGISTRANT);
      }
      if (statics.containsKey(registration.address())) {
        throw new AddressTakenException(registration.address(), AddressTakenException.Owner.STATIC_ENDPOINT);
      }
      Map<String, Advertisement> advertised = new TreeMap<>();
      registration.services().forEach(a -> advertised.put(a.service(), a));
      // The same process re-registering (same claims) keeps its probe result; anything else is re-probed.
      ProbeState probe = previous != null && previous.advertised().equals(advertised)
          ? previous.probe() : ProbeState.NOT_PROBED;
      long generation = previous != null && previous.advertised().equals(advertised)
          ? previous.generation() : nextGeneration++;
      if (previous != null) {
        previous.lease().ifPresent(old -> addressByLease.remove(old.id()));
      }
      EndpointState state = new EndpointState(generation, registration.address(), EndpointSource.REGISTRATION,
          registration.locality(), new TreeMap<>(registration.labels()), registration.weight(),
          new TreeMap<>(advertised), Optional.of(lease), registration.client(), now, probe);
      put(registered, state);
      addressByLease.put(lease.id(), registration.address());
      changed();
    }
    notifyListeners();
    return lease;
  }

  @Override
  public int registeredCount() {
    synchronized (lock) {
      return registered.size();
    }
  }

  @Override
  public Optional<String> clientOfLease(String leaseId) {
    synchronized (lock) {
      EndpointAddress address = addressByLease.get(leaseId);
      EndpointState state = address == null ? null : registered.get(address);
      return state == null || state.leaseExpired(clock.instant()) ? Optional.empty() : Optional.of(state.client());
    }
  }

  @Override
  public Optional<Lease> renew(String leaseId) {
    Instant now = clock.instant();
    Lease renewed;
    synchronized (lock) {
      EndpointAddress address = addressByLease.get(leaseId);
      EndpointState state = address == null ? null : registered.get(address);
      if (state == null || state.leaseExpired(now)) {
        return Optional.empty();
      }
      Lease lease = state.lease().orElseThrow();
      renewed = new Lease(lease.id(), lease.ttl(), now.plus(lease.ttl()));
      registered.put(address, state.withLease(renewed));
      changed();
    }
    // No listener call: extending a live lease changes no decision and no probe (expiry is caught by the
    // routing updater's tick), and keep-alives are most of the registry's traffic.
    return Optional.of(renewed);
  }

  @Override
  public boolean deregister(String leaseId) {
    synchronized (lock) {
      EndpointAddress address = addressByLease.remove(leaseId);
      if (address == null) {
        return false;
      }
      remove(registered, address);
      changed();
    }
    notifyListeners();
    return true;
  }

  @Override
  public void replaceStaticEndpoints(Map<EndpointAddress, Set<String>> servicesByAddress) {
    Instant now = clock.instant();
    synchronized (lock) {
      boolean changed = false;
      for (EndpointAddress address : List.copyOf(statics.keySet())) {
        if (!servicesByAddress.containsKey(address)) {
          remove(statics, address);
          changed = true;
        }
      }
      for (Map.Entry<EndpointAddress, Set<String>> entry : servicesByAddress.entrySet()) {
        Map<String, Advertisement> advertised = new TreeMap<>();
        entry.getValue().forEach(service -> advertised.put(service, Advertisement.nameOnly(service)));
        EndpointState previous = statics.get(entry.getKey());
        if (previous != null && previous.advertised().equals(advertised)) {
          continue;
        }
        put(statics, new EndpointState(nextGeneration++, entry.getKey(), EndpointSource.STATIC, Locality.UNKNOWN,
            new TreeMap<>(), 1, new TreeMap<>(advertised), Optional.empty(), "", now,
            previous == null ? ProbeState.NOT_PROBED : previous.probe()));
        changed = true;
      }
      if (!changed) {
        return;
      }
      changed();
    }
    notifyListeners();
  }

  @Override
  public void recordProbe(EndpointAddress address, long generation, ProbeState outcome) {
    synchronized (lock) {
      Map<EndpointAddress, EndpointState> map = registered.containsKey(address) ? registered : statics;
      EndpointState state = map.get(address);
      if (state == null || state.generation() != generation || state.probe().equals(outcome)) {
        return;
      }
      put(map, state.withProbe(outcome));
      changed();
    }
    notifyListeners();
  }

  @Override
  public List<EndpointState> removeExpired(Duration retention) {
    Instant cutoff = clock.instant().minus(retention);
    List<EndpointState> removed = new ArrayList<>();
    synchronized (lock) {
      for (EndpointState state : List.copyOf(registered.values())) {
        if (state.leaseExpired(cutoff)) {
          state.lease().ifPresent(lease -> addressByLease.remove(lease.id()));
          remove(registered, state.address());
          removed.add(state);
        }
      }
      if (removed.isEmpty()) {
        return removed;
      }
      changed();
    }
    notifyListeners();
    return removed;
  }

  @Override
  public int countByClient(String client) {
    synchronized (lock) {
      return registeredByClient.getOrDefault(client, 0);
    }
  }

  @Override
  public boolean isRegistered(EndpointAddress address) {
    synchronized (lock) {
      return registered.containsKey(address);
    }
  }

  @Override
  public RegistryState state() {
    synchronized (lock) {
      if (snapshot.version() != version) {
        // From a sorted map, TreeMap copies in linear time; statics are few, or none.
        TreeMap<EndpointAddress, EndpointState> endpoints = new TreeMap<>(registered);
        statics.forEach(endpoints::putIfAbsent); // a registration at a static address carries more: it wins
        snapshot = new RegistryState(version, endpoints);
      }
      return snapshot;
    }
  }

  @Override
  public void addListener(Runnable onChange) {
    listeners.add(onChange);
  }

  private void put(Map<EndpointAddress, EndpointState> map, EndpointState state) {
    EndpointState previous = map.put(state.address(), state);
    if (map == registered) {
      if (previous != null) {
        countClient(previous.client(), -1);
      }
      countClient(state.client(), 1);
    }
  }

  private void remove(Map<EndpointAddress, EndpointState> map, EndpointAddress address) {
    EndpointState previous = map.remove(address);
    if (previous != null && map == registered) {
      countClient(previous.client(), -1);
    }
  }

  private void countClient(String client, int delta) {
    if (registeredByClient.merge(client, delta, Integer::sum) <= 0) {
      registeredByClient.remove(client);
    }
  }

  private void changed() {
    version++;
  }

  private void notifyListeners() {
    listeners.signal();
  }
}
