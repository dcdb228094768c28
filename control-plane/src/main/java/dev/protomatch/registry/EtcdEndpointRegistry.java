package dev.protomatch.registry;

import dev.protomatch.util.Listeners;
import dev.protomatch.registry.EtcdRecords.Probe;
import dev.protomatch.registry.EtcdRecords.Registration;
import io.etcd.jetcd.ByteSequence;
import io.etcd.jetcd.Client;
import io.etcd.jetcd.ClientBuilder;
import io.etcd.jetcd.KV;
import io.etcd.jetcd.KeyValue;
import io.etcd.jetcd.Watch;
import io.etcd.jetcd.common.exception.CompactedException;
import io.etcd.jetcd.common.exception.ErrorCode;
import io.etcd.jetcd.common.exception.EtcdException;
import io.etcd.jetcd.kv.GetResponse;
import io.etcd.jetcd.kv.TxnResponse;
import io.etcd.jetcd.lease.LeaseGrantResponse;
import io.etcd.jetcd.lease.LeaseKeepAliveResponse;
import io.etcd.jetcd.lease.LeaseRevokeResponse;
import io.etcd.jetcd.lease.LeaseTimeToLiveResponse;
import io.etcd.jetcd.op.Cmp;
import io.etcd.jetcd.op.CmpTarget;
import io.etcd.jetcd.op.Op;
import io.etcd.jetcd.options.GetOption;
import io.etcd.jetcd.options.LeaseOption;
import io.etcd.jetcd.options.PutOption;
import io.etcd.jetcd.options.WatchOption;
import io.etcd.jetcd.watch.WatchEvent;
import io.etcd.jetcd.watch.WatchResponse;
import io.grpc.Status;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.OptionalLong;
import java.util.Set;
import java.util.SortedMap;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Executors;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.function.Supplier;
import javax.net.ssl.SSLException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The registry shared by several control-plane replicas, kept in etcd.
 *
 * <p><b>Layout.</b> Under a key prefix (default {@value #DEFAULT_PREFIX}):
 * {@code registrations/<address>} holds each registration as JSON ({@link EtcdRecords.Registration}),
 * attached to an etcd lease of the registration's TTL; {@code probes/<address>} holds the last probe
 * outcome of the endpoint at that address with the generation it was probed for ({@link EtcdRecords.Probe}),
 * attached to the same lease for registered endpoints and to no lease for static ones. {@code <address>} is
 * {@link EndpointAddress#toString()}. Other keys under the prefix ({@code probe-leader}, {@code replicas/}) are
 * ignored: they change neither {@link #state()} nor its version.
 *
 * <p><b>Leases.</b> {@link Lease#id()} is the etcd lease id in hex. {@link #renew} is one etcd keep-alive,
 * {@link #deregister} revokes the lease (which deletes the endpoint's keys), and etcd itself expires leases
 * and deletes their keys: {@link #removeExpired} returns nothing. Replicas never see each other's
 * renewals, so the lease of an endpoint in {@link #state()} carries {@link #HELD_BY_ETCD} as its expiry: an
 * endpoint is never judged expired locally while its key exists; etcd's deletion of the key is the expiry.
 * The leases {@link #register} and {@link #renew} return carry the real expiry ({@code now + TTL}) for the
 * caller. etcd rounds TTLs up to whole seconds and to its minimum TTL; the granted TTL is the lease's TTL.
 *
 * <p><b>Generations.</b> A registration's generation is the lease id of the registration that first made
 * its claims at that address: re-registering with equal claims keeps the generation (and so the probe
 * result), different claims get a new one. It is stored in the value, so every replica sees the same
 * generation. Static endpoints stay local (each replica reads the same config file) with generations
 * derived from address and declared services (negative numbers; etcd lease ids are positive), so their
 * probe records in etcd are shared too. A probe is recorded only if the endpoint's generation still
 * matches: for registered endpoints an etcd transaction compares the registration key's revision. Unlike the
 * in-memory registry, re-declaring a static endpoint with other services starts it over as not probed (its
 * generation changed), and a static endpoint's probe record (on no lease) stays in etcd after the endpoint
 * leaves the config file: one small key per address, ignored since no endpoint has its generation.
 *
 * <p><b>State.</b> {@link #state()} is built from a local cache fed by one range read at revision R and a
 * watch from R+1, so all replicas apply the same ordered history. {@link RegistryState#version()} is the
 * etcd revision of the last change applied to the cache plus the number of local static-endpoint changes
 * (both only grow, so the sum grows with every change). {@link #appliedRevision()} is the revision up to
 * which every change under the prefix has been applied; it also advances with etcd's progress
 * notifications (requested every {@link Options#progressInterval()}), so idle replicas of one etcd agree on
 * it. Mutations wait (within their timeout) until the watch has applied their own write, so a caller reads
 * its writes in {@link #state()}.
 *
 * <p><b>Progress notifications are not trusted with events.</b> etcd releases without the fix of
 * etcd-io/etcd#15220 (Debian's 3.4.23 among them) answer a requested progress notification with their current
 * revision even while the watch still has events to send, so a watch resumed behind the head is overtaken by
 * it. Events are therefore deduplicated and a watch resumed against the revision of the last <em>event</em>
 * (or full read) applied, never against a progress notification; a late event is applied whatever
 * {@link #appliedRevision()} said. On such an etcd, {@link #appliedRevision()} can run ahead of the cache for
 * as long as the watch catches up; mutations whose write puts or deletes a key under the prefix wait for
 * that write's own event, not for a progress notification.
 *
 * <p><b>etcd trouble.</b> Each mutation has one deadline ({@link Options#timeout()}); when etcd does not
 * answer in time, or fails otherwise than with "lease not found", it throws
 * {@link RegistryUnavailableException}. A write that timed out may still land in etcd later; the caller's
 * retry (a re-registration) then replaces it. The cache stays as last applied, never emptied. A failed watch
 * resumes after the last event applied; if etcd compacted that revision away, the registry reads
 * everything again and replaces the cache in one step (one listener call). {@link #health()} says whether
 * the watch is established and the last etcd call succeeded, and the last error.
 *
 * <p><b>Threads.</b> One daemon thread of its own (re)starts the watch, resyncs, requests progress and calls
 * the listeners. Listeners run on that thread, never under a lock, after each applied change (changes in
 * quick succession may share one call). The cache is guarded by {@code lock}: written by the watch's
 * callbacks, the resync and {@link #replaceStaticEndpoints}, read by everything else.
 */
public final class EtcdEndpointRegistry implements EndpointRegistry, AutoCloseable {
  private static final Logger log = LoggerFactory.getLogger(EtcdEndpointRegistry.class);

  public static final String DEFAULT_PREFIX = "/protomatch/";
  /**
   * Shorter than the 5 s deadline agents give a registration call, so an agent hears UNAVAILABLE (retry) rather
   * than its own DEADLINE_EXCEEDED while etcd cannot be reached.
   */
  public static final Duration DEFAULT_TIMEOUT = Duration.ofSeconds(3);
  public static final Duration DEFAULT_PROGRESS_INTERVAL = Duration.ofSeconds(5);
  /** The expiry that leases in {@link #state()} carry: the lease lives until etcd deletes the key. */
  public static final Instant HELD_BY_ETCD = Instant.parse("9999-12-31T23:59:59Z");

  private static final String REGISTRATIONS = "registrations/";
  private static final String PROBES = "probes/";
  private static final int MAX_TXN_ATTEMPTS = 5;

  /**
   * @param prefix the key prefix all records live under; replicas sharing a fleet use the same one
   * @param timeout how long one mutation (and the initial read) may wait for etcd
   * @param progressInterval how often to ask etcd for a watch progress notification
   */
  public record Options(String prefix, Duration timeout, Duration progressInterval) {
    public Options {
      if (prefix.isEmpty()) {
        throw new IllegalArgumentException("the etcd key prefix must not be empty");
      }
      if (timeout.isNegative() || timeout.isZero() || progressInterval.isNegative() || progressInterval.isZero()) {
        throw new IllegalArgumentException("etcd timeout and progress interval must be positive");
      }
    }

    public static Options defaults() {
      return new Options(DEFAULT_PREFIX, DEFAULT_TIMEOUT, DEFAULT_PROGRESS_INTERVAL);
    }
  }

  /**
   * What /readyz and the status page show about etcd.
   *
   * @param connected the watch is established and the last etcd call succeeded
   * @param lastError the last failure talking to etcd (kept after recovery), one line
   * @param appliedRevision see {@link #appliedRevision()}
   * @param resyncs full re-reads after the watch fell behind a compaction, since start
   * @param endpoints the etcd members, as configured
   */
  public record Health(
      boolean connected, Optional<String> lastError, long appliedRevision, long resyncs, String endpoints) {}

  private final EtcdTarget target;
  private final Client client;
  private final KV kv;
  private final Clock clock;
  private final Options options;
  private final String prefix;
  private final ScheduledExecutorService scheduler;
  private final Listeners<Void> listeners = new Listeners<>("registry change");
  private final AtomicBoolean notifyQueued = new AtomicBoolean();
  private final AtomicBoolean closed = new AtomicBoolean();

  private final Object lock = new Object();
  // @GuardedBy("lock") from here to the next comment.
  private Cache cache = new Cache();
  private final Map<EndpointAddress, StaticEndpoint> statics = new HashMap<>();
  private long changeRevision;
  /** Every event under the prefix up to this revision is in the cache (a full read counts). */
  private long eventRevision;
  /** {@link #eventRevision} or a later revision a progress notification reported. */
  private long appliedRevision;
  private long staticChanges;
  private long resyncs;
  private RegistryState snapshot = RegistryState.EMPTY;
  private long watchSession;
  private boolean watching;
  private boolean lastCallFailed;
  private String lastError;
  // Touched only on the scheduler thread (volatile for close()).
  private volatile Watch.Watcher watcher;
  private final Backoff backoff = new Backoff();

  private EtcdEndpointRegistry(EtcdTarget target, Client client, Options options, Clock clock) {
    this.target = target;
    this.client = client;
    this.kv = client.getKVClient();
    this.options = options;
    this.clock = clock;
    this.prefix = options.prefix();
    this.scheduler = Executors.newSingleThreadScheduledExecutor(runnable -> {
      Thread thread = new Thread(runnable, "protomatch-etcd-registry");
      thread.setDaemon(true);
      return thread;
    });
  }

  /** {@link #connect(EtcdTarget, Options, Clock)} with {@link Options#defaults()}. */
  public static EtcdEndpointRegistry connect(String url, Clock clock) {
    return connect(EtcdTarget.parse(url), Options.defaults(), clock);
  }

  /**
   * Connects, reads everything under the prefix and starts watching from there. Returns once the state
   * reflects etcd's.
   *
   * @throws RegistryUnavailableException if etcd does not answer the first read within the timeout
   * @throws IllegalArgumentException if the CA file of an {@code etcds://} target cannot be read
   */
  public static EtcdEndpointRegistry connect(EtcdTarget target, Options options, Clock clock) {
    Client client = buildClient(target, options);
    EtcdEndpointRegistry registry = new EtcdEndpointRegistry(target, client, options, clock);
    try {
      registry.start();
    } catch (RuntimeException e) {
      registry.close();
      throw e;
    }
    return registry;
  }

  private static Client buildClient(EtcdTarget target, Options options) {
    ClientBuilder builder = Client.builder()
        .endpoints(target.clientUris().toArray(String[]::new))
        .connectTimeout(options.timeout())
        .keepaliveTime(Duration.ofSeconds(10))
        .keepaliveTimeout(Duration.ofSeconds(5));
    if (target.tls()) {
      try {
        builder.sslContext(ssl -> target.caFile().ifPresent(ca -> ssl.trustManager(ca.toFile())));
      } catch (SSLException | RuntimeException e) {
        throw new IllegalArgumentException("cannot set up TLS to etcd " + target + ": " + e.getMessage(), e);
      }
    }
    return builder.build();
  }

  private void start() {
    long deadline = deadline();
    Loaded loaded = load(deadline, "initial read");
    synchronized (lock) {
      cache = loaded.cache();
      changeRevision = loaded.revision();
      eventRevision = loaded.revision();
      appliedRevision = loaded.revision();
    }
    log.info("etcd registry at {} read {} registration(s), {} probe record(s) at revision {}", target.describe(),
        loaded.cache().registrations.size(), loaded.cache().probes.size(), loaded.revision());
    scheduler.execute(this::restartWatch);
    long progressMillis = options.progressInterval().toMillis();
    scheduler.scheduleWithFixedDelay(this::requestProgress, progressMillis, progressMillis, TimeUnit.MILLISECONDS);
  }

  // ---------------------------------------------------------------------------------------------
  // EndpointRegistry

  @Override
  public Lease register(EndpointRegistration registration, Duration ttl) {
    long deadline = deadline();
    Instant now = clock.instant();
    EndpointAddress address = registration.address();
    String what = "register " + address;
    synchronized (lock) {
      if (statics.containsKey(address)) {
        throw new AddressTakenException(address, AddressTakenException.Owner.STATIC_ENDPOINT);
      }
    }
    long ttlSeconds = Math.max(1, (ttl.toMillis() + 999) / 1000);
    LeaseGrantResponse grant = call(what, deadline, client.getLeaseClient().grant(ttlSeconds));
    long leaseId = grant.getID();
    Duration granted = Duration.ofSeconds(grant.getTTL());
    SortedMap<String, Advertisement> advertised = new TreeMap<>();
    registration.services().forEach(a -> advertised.put(a.service(), a));
    ByteSequence registrationKey = bytes(prefix + REGISTRATIONS + address);
    ByteSequence probeKey = bytes(prefix + PROBES + address);
    boolean written = false;
    try {
      for (int attempt = 1; attempt <= MAX_TXN_ATTEMPTS; attempt++) {
        TxnResponse read = call(what, deadline, kv.txn()
            .Then(Op.get(registrationKey, GetOption.DEFAULT), Op.get(probeKey, GetOption.DEFAULT)).commit());
        Optional<KeyValue> previousKv = first(read.getGetResponses().get(0));
        Optional<KeyValue> probeKv = first(read.getGetResponses().get(1));
        Optional<Registration> previous = previousKv.flatMap(this::decodeRegistrationQuietly);
        if (previous.isPresent() && !previous.get().client().equals(registration.client())) {
          // etcd holds it on a live lease (it deletes the key when the lease expires); the transaction below
          // checks the key's revision, so another registrant cannot slip in between.
          throw new AddressTakenException(address, AddressTakenException.Owner.ANOTHER_REGISTRANT);
        }
        boolean sameClaims = previous.isPresent() && previous.get().advertised().equals(advertised);
        long generation = sameClaims ? previous.get().generation() : leaseId;
        Registration record = new Registration(generation, leaseId, granted, address, registration.locality(),
            new TreeMap<>(registration.labels()), registration.weight(), advertised, registration.client(), now);
        PutOption withLease = PutOption.builder().withLeaseId(leaseId).build();
        List<Op> writes = new ArrayList<>();
        writes.add(Op.put(registrationKey, ByteSequence.from(EtcdRecords.encode(record)), withLease));
        boolean keepProbe = sameClaims && probeKv.flatMap(this::decodeProbeQuietly)
            .map(probe -> probe.generation() == generation).orElse(false);
        if (keepProbe) { // moves the probe record to the new lease: the old one is revoked below
          writes.add(Op.put(probeKey, probeKv.get().getValue(), withLease));
        }
        TxnResponse txn = call(what, deadline, kv.txn()
            .If(sameModRevision(registrationKey, previousKv), sameModRevision(probeKey, probeKv))
            .Then(writes.toArray(Op[]::new)).commit());
        if (!txn.isSucceeded()) {
          continue; // another replica wrote this address meanwhile: read again
        }
        written = true;
        awaitEvent(txn.getHeader().getRevision(), deadline);
        if (previous.isPresent() && previous.get().leaseId() != leaseId) {
          // Deletes the old probe record if it stayed on that lease: a stale generation, so no need to wait.
          revokeReplaced(previous.get().leaseId(), deadline);
        }
        return new Lease(Long.toHexString(leaseId), granted, now.plus(granted));
      }
      throw unavailable(what, "the record kept changing under " + MAX_TXN_ATTEMPTS + " attempts");
    } finally {
      if (!written) {
        client.getLeaseClient().revoke(leaseId); // best effort; the lease expires anyway
      }
    }
  }

  @Override
  public int registeredCount() {
    synchronized (lock) {
      return cache.registrations.size();
    }
  }

  @Override
  public Optional<String> clientOfLease(String leaseId) {
    OptionalLong id = parseLeaseId(leaseId);
    if (id.isEmpty()) {
      return Optional.empty();
    }
    synchronized (lock) {
      String key = cache.keyByLease.get(id.getAsLong());
      Held held = key == null ? null : cache.registrations.get(key);
      return held == null ? Optional.empty() : Optional.of(held.registration().client());
    }
  }

  @Override
  public Optional<Lease> renew(String leaseId) {
    OptionalLong id = parseLeaseId(leaseId);
    if (id.isEmpty()) {
      return Optional.empty();
    }
    long deadline = deadline();
    Instant now = clock.instant();
    String what = "renew lease " + leaseId;
    LeaseKeepAliveResponse alive;
    try {
      alive = call(what, deadline, client.getLeaseClient().keepAliveOnce(id.getAsLong()));
    } catch (LeaseNotFound e) {
      return Optional.empty();
    }
    if (!holdsRegistration(id.getAsLong(), what, deadline)) {
      return Optional.empty(); // a lease this registry replaced (re-registration) or never used
    }
    Duration ttl = Duration.ofSeconds(alive.getTTL());
    return Optional.of(new Lease(Long.toHexString(id.getAsLong()), ttl, now.plus(ttl)));
  }

  @Override
  public boolean deregister(String leaseId) {
    OptionalLong id = parseLeaseId(leaseId);
    if (id.isEmpty()) {
      return false;
    }
    long deadline = deadline();
    boolean holdsKey;
    synchronized (lock) {
      holdsKey = cache.keyByLease.containsKey(id.getAsLong());
    }
    try {
      LeaseRevokeResponse revoked =
          call("deregister lease " + leaseId, deadline, client.getLeaseClient().revoke(id.getAsLong()));
      long revision = revoked.getHeader().getRevision();
      if (holdsKey) {
        awaitEvent(revision, deadline); // the deletion of its registration key
      } else {
        awaitApplied(revision, deadline); // maybe deleted nothing under the prefix: no event to wait for
      }
      return true;
    } catch (LeaseNotFound e) {
      return false;
    }
  }

  @Override
  public void replaceStaticEndpoints(Map<EndpointAddress, Set<String>> servicesByAddress) {
    Instant now = clock.instant();
    boolean changed = false;
    synchronized (lock) {
      for (EndpointAddress address : List.copyOf(statics.keySet())) {
        if (!servicesByAddress.containsKey(address)) {
          statics.remove(address);
          changed = true;
        }
      }
      for (Map.Entry<EndpointAddress, Set<String>> entry : servicesByAddress.entrySet()) {
        SortedMap<String, Advertisement> advertised = new TreeMap<>();
        entry.getValue().forEach(service -> advertised.put(service, Advertisement.nameOnly(service)));
        StaticEndpoint previous = statics.get(entry.getKey());
        if (previous != null && previous.advertised().equals(advertised)) {
          continue;
        }
        statics.put(entry.getKey(),
            new StaticEndpoint(staticGeneration(entry.getKey(), advertised.keySet()), advertised, now));
        changed = true;
      }
      if (changed) {
        staticChanges++;
      }
    }
    if (changed) {
      queueNotify();
    }
  }

  @Override
  public void recordProbe(EndpointAddress address, long generation, ProbeState outcome) {
    String name = address.toString();
    Held held;
    synchronized (lock) {
      held = cache.registrations.get(name);
      long current;
      if (held != null) {
        current = held.registration().generation();
      } else {
        StaticEndpoint declared = statics.get(address);
        if (declared == null) {
          return;
        }
        current = declared.generation();
      }
      Probe recorded = cache.probes.get(name);
      if (current != generation || (recorded != null && recorded.generation() == generation
          && recorded.probe().equals(outcome))) {
        return;
      }
    }
    long deadline = deadline();
    String what = "record probe of " + address;
    ByteSequence registrationKey = bytes(prefix + REGISTRATIONS + name);
    ByteSequence probeKey = bytes(prefix + PROBES + name);
    ByteSequence value = ByteSequence.from(EtcdRecords.encode(new Probe(generation, outcome)));
    if (held == null) { // static: written unless a registration (which wins) took the address meanwhile
      TxnResponse txn = call(what, deadline, kv.txn()
          .If(new Cmp(registrationKey, Cmp.Op.EQUAL, CmpTarget.version(0)))
          .Then(Op.put(probeKey, value, PutOption.DEFAULT)).commit());
      if (txn.isSucceeded()) {
        awaitEvent(txn.getHeader().getRevision(), deadline);
      }
      return;
    }
    writeRegisteredProbe(address, generation, outcome, held.modRevision(), held.registration().leaseId());
  }

  /**
   * Writes the probe of a registered endpoint if its registration key is still at {@code modRevision} (as the
   * cache saw it) or, failing that, still of {@code generation}. Package-private so that a test can drive the
   * race the cache cannot show: etcd moved on before this replica's watch said so.
   *
   * @return whether the probe was written
   */
  boolean writeRegisteredProbe(
      EndpointAddress address, long generation, ProbeState outcome, long modRevision, long leaseId) {
    long deadline = deadline();
    String what = "record probe of " + address;
    ByteSequence registrationKey = bytes(prefix + REGISTRATIONS + address);
    ByteSequence probeKey = bytes(prefix + PROBES + address);
    ByteSequence value = ByteSequence.from(EtcdRecords.encode(new Probe(generation, outcome)));
    for (int attempt = 1; attempt <= MAX_TXN_ATTEMPTS; attempt++) {
      TxnResponse txn = call(what, deadline, kv.txn()
          .If(new Cmp(registrationKey, Cmp.Op.EQUAL, CmpTarget.modRevision(modRevision)))
          .Then(Op.put(probeKey, value, PutOption.builder().withLeaseId(leaseId).build())).commit());
      if (txn.isSucceeded()) {
        awaitEvent(txn.getHeader().getRevision(), deadline);
        return true;
      }
      // The registration changed since the cache saw it: still the same generation (same claims re-registered)?
      Optional<KeyValue> now = first(call(what, deadline, kv.get(registrationKey)));
      Optional<Registration> fresh = now.flatMap(this::decodeRegistrationQuietly);
      if (fresh.isEmpty() || fresh.get().generation() != generation) {
        return false; // re-registered with other claims, or gone: the probe is stale
      }
      modRevision = now.get().getModRevision();
      leaseId = fresh.get().leaseId();
    }
    throw unavailable(what, "the registration kept changing under " + MAX_TXN_ATTEMPTS + " attempts");
  }

  /** etcd expires leases itself: nothing to sweep here. */
  @Override
  public List<EndpointState> removeExpired(Duration retention) {
    return List.of();
  }

  @Override
  public int countByClient(String client) {
    synchronized (lock) {
      return cache.clients.getOrDefault(client, 0);
    }
  }

  @Override
  public boolean isRegistered(EndpointAddress address) {
    synchronized (lock) {
      return cache.registrations.containsKey(address.toString());
    }
  }

  @Override
  public RegistryState state() {
    synchronized (lock) {
      long version = changeRevision + staticChanges;
      if (snapshot.version() != version || snapshot == RegistryState.EMPTY) {
        TreeMap<EndpointAddress, EndpointState> endpoints = new TreeMap<>();
        statics.forEach((address, declared) -> endpoints.put(address, new EndpointState(declared.generation(),
            address, EndpointSource.STATIC, Locality.UNKNOWN, new TreeMap<>(), 1, declared.advertised(),
            Optional.empty(), "", declared.declaredAt(), probe(address.toString(), declared.generation()))));
        for (Held held : cache.registrations.values()) { // a registration at a static address carries more: it wins
          Registration r = held.registration();
          endpoints.put(r.address(), new EndpointState(r.generation(), r.address(), EndpointSource.REGISTRATION,
              r.locality(), r.labels(), r.weight(), r.advertised(),
              Optional.of(new Lease(Long.toHexString(r.leaseId()), r.ttl(), HELD_BY_ETCD)), r.client(),
              r.registeredAt(), probe(r.address().toString(), r.generation())));
        }
        snapshot = new RegistryState(version, endpoints);
      }
      return snapshot;
    }
  }

  /** Called on the registry's thread after changes are applied; never under a lock. */
  @Override
  public void addListener(Runnable onChange) {
    listeners.add(onChange);
  }

  // ---------------------------------------------------------------------------------------------
  // Beyond the interface

  /**
   * The etcd revision up to which every change under the prefix is applied to {@link #state()}, as far as
   * etcd's progress notifications can be trusted (see the class doc for the etcd releases that run them ahead).
   */
  public long appliedRevision() {
    synchronized (lock) {
      return appliedRevision;
    }
  }

  /** Whether the watch is established and the last etcd call succeeded. */
  public boolean connected() {
    synchronized (lock) {
      return watching && !lastCallFailed;
    }
  }

  /** The last failure talking to etcd, one line; kept after recovery. */
  public Optional<String> lastError() {
    synchronized (lock) {
      return Optional.ofNullable(lastError);
    }
  }

  public Health health() {
    synchronized (lock) {
      return new Health(watching && !lastCallFailed, Optional.ofNullable(lastError), appliedRevision, resyncs,
          target.describe());
    }
  }

  public EtcdTarget target() {
    return target;
  }

  /**
   * Starts competing with the other replicas on this prefix for the prober's job; see {@link ProbeLeadership}.
   * Close it before this registry.
   *
   * @param replicaId this replica's name in etcd, e.g. host name and port; unique among the replicas
   * @param ttl how long a vanished leader keeps the job (etcd's lease TTL; at least etcd's minimum)
   */
  public ProbeLeadership startProbeLeadership(String replicaId, Duration ttl) {
    return ProbeLeadership.start(client, prefix + ProbeLeadership.KEY, replicaId, ttl, options.timeout(), target);
  }

  /**
   * Publishes this replica's record under {@code <prefix>replicas/} and follows the other replicas'; see
   * {@link ReplicaDirectory}. Those keys are not registry state: writing them changes no {@link #state()}.
   * Close it before this registry.
   *
   * @param self this replica's record, read again on {@link ReplicaDirectory#selfChanged()}; its id is unique
   *     among the replicas
   * @param ttl how long the record of a replica that died stays (etcd's lease TTL; at least etcd's minimum)
   */
  public ReplicaDirectory startReplicaDirectory(Supplier<ReplicaRecord> self, Duration ttl) {
    return ReplicaDirectory.start(client, prefix, self, ttl, options.timeout(), target);
  }

  @Override
  public void close() {
    if (!closed.compareAndSet(false, true)) {
      return;
    }
    scheduler.shutdownNow();
    Watch.Watcher current = watcher;
    if (current != null) {
      current.close();
    }
    client.close();
  }

  // ---------------------------------------------------------------------------------------------
  // Watch, resync, progress (scheduler thread)

  private void restartWatch() {
    if (closed.get()) {
      return;
    }
    long from;
    long session;
    synchronized (lock) {
      from = eventRevision + 1;
      session = ++watchSession;
    }
    closeWatcher();
    try {
      watcher = client.getWatchClient().watch(bytes(prefix),
          WatchOption.builder().isPrefix(true).withRevision(from).withCreateNotify(true).build(),
          new SessionListener(session));
    } catch (RuntimeException e) {
      failed(session, e);
    }
  }

  private void resync() {
    if (closed.get()) {
      return;
    }
    Loaded loaded;
    try {
      loaded = load(deadline(), "resync");
    } catch (RuntimeException e) {
      log.warn("etcd registry resync failed, retrying: {}", e.getMessage());
      scheduler.schedule(this::resync, backoff.next(), TimeUnit.MILLISECONDS);
      return;
    }
    synchronized (lock) {
      cache = loaded.cache();
      resyncs++;
      changeRevision = Math.max(changeRevision, loaded.revision());
      eventRevision = Math.max(eventRevision, loaded.revision());
      appliedRevision = Math.max(appliedRevision, loaded.revision());
      lock.notifyAll();
    }
    log.info("etcd registry resynced at revision {}: {} registration(s), {} probe record(s)", loaded.revision(),
        loaded.cache().registrations.size(), loaded.cache().probes.size());
    queueNotify();
    restartWatch();
  }

  private void requestProgress() {
    boolean established;
    synchronized (lock) {
      established = watching;
    }
    if (established && !closed.get()) {
      client.getWatchClient().requestProgress();
    }
  }

  private void closeWatcher() {
    Watch.Watcher old = watcher;
    watcher = null;
    if (old != null) {
      old.close();
    }
  }

  /** Watch callbacks of one watch; callbacks of a replaced watch are ignored. */
  private final class SessionListener implements Watch.Listener {
    private final long session;

    SessionListener(long session) {
      this.session = session;
    }

    @Override
    public void onNext(WatchResponse response) {
      if (response.isProgressNotify()) {
        progressed(session, response.getHeader().getRevision());
      } else if (response.isCreatedNotify()) {
        established(session);
      } else if (!response.getEvents().isEmpty()) {
        apply(session, response.getEvents());
      }
    }

    @Override
    public void onError(Throwable error) {
      failed(session, error);
    }

    @Override
    public void onCompleted() {
      failed(session, new IllegalStateException("etcd closed the watch"));
    }
  }

  private void established(long session) {
    boolean recovered;
    long from;
    synchronized (lock) {
      if (session != watchSession) {
        return;
      }
      recovered = lastError != null && !watching;
      watching = true;
      lastCallFailed = false;
      from = eventRevision + 1;
    }
    execute(backoff::reset);
    if (recovered) {
      log.info("etcd registry watching {} again from revision {}", target.describe(), from);
    }
  }

  private void progressed(long session, long revision) {
    synchronized (lock) {
      if (session != watchSession) {
        return;
      }
      watching = true;
      lastCallFailed = false;
      if (revision > appliedRevision) {
        appliedRevision = revision;
        lock.notifyAll();
      }
    }
  }

  private void apply(long session, List<WatchEvent> events) {
    boolean changed = false;
    synchronized (lock) {
      if (session != watchSession) {
        return;
      }
      watching = true;
      long applied = eventRevision;
      for (WatchEvent event : events) {
        KeyValue kv = event.getKeyValue();
        if (kv.getModRevision() <= eventRevision) {
          continue; // already applied (a resumed watch may repeat a revision)
        }
        applied = Math.max(applied, kv.getModRevision());
        String key = kv.getKey().toString(StandardCharsets.UTF_8);
        boolean deleted = event.getEventType() == WatchEvent.EventType.DELETE;
        changed |= cache.apply(key, deleted ? null : kv);
      }
      if (applied > eventRevision) {
        if (applied <= appliedRevision) {
          log.debug("etcd event at revision {} arrived after a progress notification for {}", applied,
              appliedRevision);
        }
        eventRevision = applied;
        appliedRevision = Math.max(appliedRevision, applied);
        if (changed) {
          changeRevision = Math.max(changeRevision, applied);
        }
        lock.notifyAll();
      }
    }
    if (changed) {
      queueNotify();
    }
  }

  private void failed(long session, Throwable error) {
    if (closed.get()) {
      return;
    }
    String message = describe(error);
    boolean wasWatching;
    synchronized (lock) {
      if (session != watchSession) {
        return;
      }
      watchSession++; // this watch's later callbacks are stale
      wasWatching = watching;
      watching = false;
      lastError = "watch: " + message;
    }
    boolean compacted = error instanceof CompactedException;
    if (compacted) {
      log.warn("etcd registry watch fell behind a compaction ({}); reading everything again", message);
    } else if (wasWatching) {
      log.warn("etcd registry lost its watch on {}: {}; resuming from the last applied revision",
          target.describe(), message);
    }
    execute(() -> {
      closeWatcher();
      if (compacted) {
        resync();
      } else {
        scheduler.schedule(this::restartWatch, backoff.next(), TimeUnit.MILLISECONDS);
      }
    });
  }

  // ---------------------------------------------------------------------------------------------
  // Helpers

  private Loaded load(long deadline, String what) {
    GetResponse all = call(what, deadline, kv.get(bytes(prefix), GetOption.builder().isPrefix(true).build()));
    Cache fresh = new Cache();
    for (KeyValue kv : all.getKvs()) {
      fresh.apply(kv.getKey().toString(StandardCharsets.UTF_8), kv);
    }
    return new Loaded(fresh, all.getHeader().getRevision());
  }

  private ProbeState probe(String name, long generation) {
    Probe recorded = cache.probes.get(name);
    return recorded != null && recorded.generation() == generation ? recorded.probe() : ProbeState.NOT_PROBED;
  }

  private boolean holdsRegistration(long leaseId, String what, long deadline) {
    synchronized (lock) {
      if (cache.keyByLease.containsKey(leaseId)) {
        return true;
      }
    }
    // Not (yet) seen by this replica's watch: ask etcd which keys the lease holds.
    LeaseTimeToLiveResponse live = call(what, deadline,
        client.getLeaseClient().timeToLive(leaseId, LeaseOption.builder().withAttachedKeys().build()));
    String registrations = prefix + REGISTRATIONS;
    return live.getKeys().stream().anyMatch(key -> key.toString(StandardCharsets.UTF_8).startsWith(registrations));
  }

  /** Revokes the lease a re-registration replaced (best effort: it expires by itself). */
  private void revokeReplaced(long leaseId, long deadline) {
    try {
      call("revoke replaced lease " + Long.toHexString(leaseId), deadline, client.getLeaseClient().revoke(leaseId));
    } catch (LeaseNotFound e) {
      // already gone
    } catch (RegistryUnavailableException e) {
      log.warn("{} (it holds no key any more and expires by itself)", e.getMessage());
    }
  }

  /**
   * Waits (at most until {@code deadline}) until the watch has applied the event of a write at {@code revision}
   * that put or deleted a key under the prefix.
   */
  private void awaitEvent(long revision, long deadline) {
    awaitRevision(revision, deadline, false);
  }

  /**
   * Waits (at most until {@code deadline}) until the watch has applied {@code revision}. A write that changed
   * nothing under the prefix (revoking a lease without keys) reports etcd's current revision, which the watch
   * reaches only with a progress notification: one is requested if the wait lasts.
   */
  private void awaitApplied(long revision, long deadline) {
    awaitRevision(revision, deadline, true);
  }

  private void awaitRevision(long revision, long deadline, boolean progressCounts) {
    long askProgressAt = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(100);
    boolean askedProgress = !progressCounts;
    while (true) {
      synchronized (lock) {
        if ((progressCounts ? appliedRevision : eventRevision) >= revision) {
          return;
        }
        long now = System.nanoTime();
        long until = askedProgress ? deadline : Math.min(deadline, askProgressAt);
        long waitMillis = Math.max(1, TimeUnit.NANOSECONDS.toMillis(until - now));
        if (now >= deadline) {
          log.debug("etcd revision {} written but not yet seen by the watch (events applied to {})", revision,
              eventRevision);
          return;
        }
        try {
          lock.wait(waitMillis);
        } catch (InterruptedException e) {
          Thread.currentThread().interrupt();
          return;
        }
      }
      if (!askedProgress && System.nanoTime() >= askProgressAt) {
        askedProgress = true;
        client.getWatchClient().requestProgress();
      }
    }
  }

  private <T> T call(String what, long deadline, CompletableFuture<T> future) {
    try {
      long remaining = deadline - System.nanoTime();
      if (remaining <= 0) {
        throw new TimeoutException();
      }
      T result = future.get(remaining, TimeUnit.NANOSECONDS);
      synchronized (lock) {
        lastCallFailed = false;
      }
      return result;
    } catch (TimeoutException e) {
      future.cancel(true);
      throw unavailable(what, "no answer within " + options.timeout().toMillis() + " ms");
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      future.cancel(true);
      throw unavailable(what, "interrupted");
    } catch (ExecutionException e) {
      Throwable cause = e.getCause();
      boolean notFound = cause instanceof EtcdException etcd
          ? etcd.getErrorCode() == ErrorCode.NOT_FOUND
          : Status.fromThrowable(cause).getCode() == Status.Code.NOT_FOUND;
      if (notFound && String.valueOf(cause.getMessage()).contains("lease not found")) {
        throw new LeaseNotFound();
      }
      throw unavailable(what, describe(cause));
    }
  }

  private RegistryUnavailableException unavailable(String what, String why) {
    String message = "etcd at " + target.describe() + " unavailable: " + what + ": " + why;
    synchronized (lock) {
      lastCallFailed = true;
      lastError = message;
    }
    return new RegistryUnavailableException(message);
  }

  private static String describe(Throwable error) {
    String message = error.getMessage();
    return (message == null || message.isBlank() ? error.getClass().getSimpleName() : message).replace('\n', ' ');
  }

  private long deadline() {
    return System.nanoTime() + options.timeout().toNanos();
  }

  private void queueNotify() {
    if (notifyQueued.compareAndSet(false, true)) {
      execute(() -> {
        notifyQueued.set(false);
        listeners.signal();
      });
    }
  }

  private void execute(Runnable task) {
    try {
      scheduler.execute(task);
    } catch (RejectedExecutionException e) {
      // closed
    }
  }

  private Optional<Registration> decodeRegistrationQuietly(KeyValue kv) {
    try {
      return Optional.of(EtcdRecords.decodeRegistration(kv.getValue().getBytes()));
    } catch (RuntimeException e) {
      log.warn("ignoring etcd key {}: {}", kv.getKey().toString(StandardCharsets.UTF_8), e.getMessage());
      return Optional.empty();
    }
  }

  private Optional<Probe> decodeProbeQuietly(KeyValue kv) {
    try {
      return Optional.of(EtcdRecords.decodeProbe(kv.getValue().getBytes()));
    } catch (RuntimeException e) {
      log.warn("ignoring etcd key {}: {}", kv.getKey().toString(StandardCharsets.UTF_8), e.getMessage());
      return Optional.empty();
    }
  }

  private static Cmp sameModRevision(ByteSequence key, Optional<KeyValue> seen) {
    return new Cmp(key, Cmp.Op.EQUAL, CmpTarget.modRevision(seen.map(KeyValue::getModRevision).orElse(0L)));
  }

  private static Optional<KeyValue> first(GetResponse response) {
    return response.getKvs().isEmpty() ? Optional.empty() : Optional.of(response.getKvs().get(0));
  }

  private static ByteSequence bytes(String text) {
    return ByteSequence.from(text, StandardCharsets.UTF_8);
  }

  private static OptionalLong parseLeaseId(String leaseId) {
    try {
      long id = Long.parseUnsignedLong(leaseId, 16);
      return id > 0 ? OptionalLong.of(id) : OptionalLong.empty();
    } catch (NumberFormatException e) {
      return OptionalLong.empty();
    }
  }

  /**
   * A static endpoint's generation: the same on every replica for the same address and declared services,
   * negative so that it never equals a registration's (a positive etcd lease id).
   */
  static long staticGeneration(EndpointAddress address, Set<String> services) {
    try {
      MessageDigest sha256 = MessageDigest.getInstance("SHA-256");
      sha256.update((address + "\n" + String.join("\n", new TreeSet<>(services))).getBytes(StandardCharsets.UTF_8));
      byte[] digest = sha256.digest();
      long value = 0;
      for (int i = 0; i < 8; i++) {
        value = (value << 8) | (digest[i] & 0xff);
      }
      return value | Long.MIN_VALUE;
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException("every Java platform must provide SHA-256", e);
    }
  }

  /** Thrown by {@link #call} when etcd says the lease does not exist. */
  private static final class LeaseNotFound extends RuntimeException {
    LeaseNotFound() {
      super(null, null, false, false);
    }
  }

  private record StaticEndpoint(long generation, SortedMap<String, Advertisement> advertised, Instant declaredAt) {}

  private record Held(Registration registration, long modRevision) {}

  private record Loaded(Cache cache, long revision) {}

  /** What etcd holds under the prefix, by address text. Not thread-safe: guarded by the registry's lock. */
  private final class Cache {
    final Map<String, Held> registrations = new HashMap<>();
    final Map<String, Probe> probes = new HashMap<>();
    final Map<Long, String> keyByLease = new HashMap<>();
    final Map<String, Integer> clients = new HashMap<>();

    /** Applies a put ({@code kv}) or a deletion ({@code kv == null}) of {@code key}; false if not ours. */
    boolean apply(String key, KeyValue kv) {
      if (key.startsWith(prefix + REGISTRATIONS)) {
        String name = key.substring((prefix + REGISTRATIONS).length());
        Optional<Registration> registration = kv == null ? Optional.empty() : decodeRegistrationQuietly(kv);
        Held previous = registration.isPresent()
            ? registrations.put(name, new Held(registration.get(), kv.getModRevision()))
            : registrations.remove(name);
        if (previous != null) {
          keyByLease.remove(previous.registration().leaseId());
          count(previous.registration().client(), -1);
        }
        registration.ifPresent(r -> {
          keyByLease.put(r.leaseId(), name);
          count(r.client(), 1);
        });
        return true;
      }
      if (key.startsWith(prefix + PROBES)) {
        String name = key.substring((prefix + PROBES).length());
        Optional<Probe> probe = kv == null ? Optional.empty() : decodeProbeQuietly(kv);
        if (probe.isPresent()) {
          probes.put(name, probe.get());
        } else {
          probes.remove(name);
        }
        return true;
      }
      return false;
    }

    private void count(String client, int delta) {
      if (clients.merge(client, delta, Integer::sum) <= 0) {
        clients.remove(client);
      }
    }
  }
}
