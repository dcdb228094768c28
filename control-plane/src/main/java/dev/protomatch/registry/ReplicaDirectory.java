package dev.protomatch.registry;

import io.etcd.jetcd.ByteSequence;
import io.etcd.jetcd.Client;
import io.etcd.jetcd.KeyValue;
import io.etcd.jetcd.Watch;
import io.etcd.jetcd.kv.GetResponse;
import io.etcd.jetcd.options.GetOption;
import io.etcd.jetcd.options.PutOption;
import io.etcd.jetcd.options.WatchOption;
import io.etcd.jetcd.watch.WatchEvent;
import io.etcd.jetcd.watch.WatchResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Comparator;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Executors;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.function.Supplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The replicas sharing one etcd prefix, and whether they enforce the same policy.
 *
 * <p><b>This replica.</b> Its {@link ReplicaRecord} lives under {@code <prefix>replicas/<id>}, attached to a
 * lease of its own that it keeps alive every third of the TTL (a keep-alive changes no key, so no etcd
 * revision). The record is written when the lease is new and whenever {@code self} returns a record other
 * than the one last written, which happens only when the policy changes ({@link #selfChanged()}, also
 * checked at each keep-alive): a write bumps etcd's revision for every replica, so nothing is rewritten
 * periodically. If etcd forgot the lease (a long outage), a new one is granted and the record written again.
 * {@link #close()} revokes the lease, so the record disappears at once; a replica that dies disappears after
 * the TTL.
 *
 * <p><b>The others.</b> One read of {@code <prefix>replicas/} and a watch from the revision after it keep
 * {@link #peers()}: every live replica but this one. A failed watch (etcd unreachable, or compacted past it)
 * reads everything under {@code replicas/} again and watches from there. Records that do not decode are
 * logged once and left out. A record under this replica's own key written on another lease means another
 * replica uses the same id: logged as a WARN.
 *
 * <p><b>Policy mismatches.</b> A peer whose {@code policy_sha256} differs from this replica's decides
 * differently from the same registry. Each (peer, digest) pair is logged as a WARN once when it appears,
 * and an INFO when that peer runs this replica's policy again; {@link #policyMismatches()} counts the live
 * peers with another digest.
 *
 * <p><b>Threads.</b> One daemon thread of its own does every etcd call and owns the fields below it; the
 * watch's callbacks are handed to it. Readers see {@code peers} and {@code mismatches}, immutable values in
 * volatile fields.
 */
public final class ReplicaDirectory implements AutoCloseable {
  private static final Logger log = LoggerFactory.getLogger(ReplicaDirectory.class);
  static final String REPLICAS = "replicas/";

  private final Client client;
  private final String replicasPrefix;
  private final String replicaId;
  private final ByteSequence myKey;
  private final Supplier<ReplicaRecord> self;
  private final Duration timeout;
  private final EtcdTarget target;
  private final ScheduledExecutorService scheduler;
  private volatile boolean closed;
  private volatile List<ReplicaRecord> peers = List.of();
  private volatile int mismatches;

  // Scheduler thread only from here on (and close(), after the scheduler stopped).
  private final OwnedLease lease;
  private ReplicaRecord written; // what etcd holds under myKey on the lease; null when not (yet) written
  private boolean failing;
  private final Map<String, ReplicaRecord> byKey = new HashMap<>();
  private final Set<String> undecodable = new HashSet<>();
  private Set<Mismatch> warned = Set.of();
  private boolean duplicateWarned;
  private long watchSession;
  private Watch.Watcher watcher;
  private final Backoff backoff = new Backoff();

  /** A peer that runs another policy: its id and the digest it runs. */
  private record Mismatch(String peer, String policySha256) {}

  private ReplicaDirectory(Client client, String prefix, Supplier<ReplicaRecord> self, Duration ttl,
                           Duration timeout, EtcdTarget target) {
    this.client = client;
    this.replicasPrefix = prefix + REPLICAS;
    this.self = self;
    this.replicaId = self.get().id();
    this.myKey = bytes(replicasPrefix + replicaId);
    this.lease = new OwnedLease(client, ttl, timeout);
    this.timeout = timeout;
    this.target = target;
    this.scheduler = Executors.newSingleThreadScheduledExecutor(runnable -> {
      Thread thread = new Thread(runnable, "protomatch-replica-directory");
      thread.setDaemon(true);
      return thread;
    });
  }

  /** Writes this replica's record and starts watching the others; both happen on the directory's thread. */
  static ReplicaDirectory start(Client client, String prefix, Supplier<ReplicaRecord> self, Duration ttl,
                                Duration timeout, EtcdTarget target) {
    ReplicaDirectory directory = new ReplicaDirectory(client, prefix, self, ttl, timeout, target);
    directory.scheduler.scheduleWithFixedDelay(
        directory::keepAlive, 0, directory.lease.renewEveryMillis(), TimeUnit.MILLISECONDS);
    directory.execute(directory::load);
    return directory;
  }

  public String replicaId() {
    return replicaId;
  }

  /** The other live replicas on this prefix, by id; empty until the first read of etcd. */
  public List<ReplicaRecord> peers() {
    return peers;
  }

  /** How many of {@link #peers()} run a policy with another digest than this replica's. */
  public int policyMismatches() {
    return mismatches;
  }

  /** This replica's policy (or anything else {@code self} returns) changed: rewrite its record and re-compare. */
  public void selfChanged() {
    execute(() -> {
      publish();
      compare();
    });
  }

  // ---------------------------------------------------------------------------------------------
  // This replica's record (scheduler thread)

  private void keepAlive() {
    if (closed) {
      return;
    }
    try {
      if (!lease.renew()) {
        log.info("replica directory: etcd forgot the lease of {}; writing its record again", replicaId);
        written = null;
      }
      publish();
    } catch (RuntimeException e) {
      trouble(e);
    }
  }

  /** Grants a lease if there is none and writes the record if etcd does not hold this one. */
  private void publish() {
    if (closed) {
      return;
    }
    try {
      if (!lease.held()) {
        written = null;
      }
      long leaseId = lease.acquire();
      ReplicaRecord now = self.get();
      if (!now.equals(written)) {
        await(client.getKVClient().put(myKey, ByteSequence.from(now.encode()),
            PutOption.builder().withLeaseId(leaseId).build()));
        written = now;
      }
      if (failing) {
        failing = false;
        log.info("replica directory: {} reaches etcd at {} again", replicaId, target.describe());
      }
    } catch (RuntimeException e) {
      trouble(e);
    }
  }

  private void trouble(RuntimeException e) {
    if (closed) {
      return; // close() interrupted a call
    }
    if (!failing) {
      failing = true;
      log.warn("replica directory: cannot keep the record of {} in etcd at {} ({}); retrying", replicaId,
          target.describe(), e.getMessage());
    }
  }

  // ---------------------------------------------------------------------------------------------
  // The others (scheduler thread)

  /** Reads every record under {@code replicas/}, then watches from the revision after that read. */
  private void load() {
    if (closed) {
      return;
    }
    GetResponse all;
    try {
      all = await(client.getKVClient().get(bytes(replicasPrefix), GetOption.builder().isPrefix(true).build()));
    } catch (RuntimeException e) {
      log.debug("replica directory: reading the replicas failed ({}); retrying", e.getMessage());
      scheduler.schedule(this::load, backoff.next(), TimeUnit.MILLISECONDS);
      return;
    }
    byKey.clear();
    for (KeyValue kv : all.getKvs()) {
      put(kv, false);
    }
    long session = ++watchSession;
    closeWatcher();
    try {
      watcher = client.getWatchClient().watch(bytes(replicasPrefix), WatchOption.builder().isPrefix(true)
          .withRevision(all.getHeader().getRevision() + 1).build(), new SessionListener(session));
      backoff.reset();
    } catch (RuntimeException e) {
      failed(session, e);
    }
    changed();
  }

  private void apply(long session, List<WatchEvent> events) {
    if (session != watchSession || closed) {
      return;
    }
    for (WatchEvent event : events) {
      KeyValue kv = event.getKeyValue();
      if (event.getEventType() == WatchEvent.EventType.DELETE) {
        String key = key(kv);
        byKey.remove(key);
        undecodable.remove(key);
        if (kv.getKey().equals(myKey)) {
          written = null; // the next keep-alive writes it again (on a new lease if this one ended)
        }
      } else {
        put(kv, true);
      }
    }
    changed();
  }

  /** A record read or watched; {@code watched}: a write seen as it happened (not a leftover of a previous run). */
  private void put(KeyValue kv, boolean watched) {
    if (kv.getKey().equals(myKey)) {
      if (watched && kv.getLease() != lease.id() && !duplicateWarned) {
        duplicateWarned = true;
        log.warn("replica directory: another replica writes {} in etcd: replica ids must be unique (--replica-id)",
            key(kv));
      }
      return;
    }
    String key = key(kv);
    try {
      byKey.put(key, ReplicaRecord.decode(kv.getValue().getBytes()));
      undecodable.remove(key);
    } catch (IllegalArgumentException e) {
      byKey.remove(key);
      if (undecodable.add(key)) {
        log.warn("replica directory: ignoring etcd key {}: {}", key, e.getMessage());
      }
    }
  }

  private void changed() {
    peers = byKey.values().stream().sorted(Comparator.comparing(ReplicaRecord::id)).toList();
    compare();
  }

  /** Logs mismatches that appeared (WARN) and peers that agree again (INFO); counts the live ones. */
  private void compare() {
    ReplicaRecord me = self.get();
    Map<String, ReplicaRecord> byId = new HashMap<>();
    peers.forEach(peer -> byId.put(peer.id(), peer));
    Set<Mismatch> now = new HashSet<>();
    for (ReplicaRecord peer : peers) {
      if (!peer.policySha256().equals(me.policySha256())) {
        Mismatch mismatch = new Mismatch(peer.id(), peer.policySha256());
        now.add(mismatch);
        if (!warned.contains(mismatch)) {
          log.warn("replica {} runs another policy (sha256 {}, version {}) than this replica {} (sha256 {}, "
                  + "version {}): the replicas may route differently", peer.id(), peer.policySha256(),
              peer.policyVersion(), replicaId, me.policySha256(), me.policyVersion());
        }
      }
    }
    for (Mismatch gone : warned) {
      ReplicaRecord peer = byId.get(gone.peer());
      if (peer != null && peer.policySha256().equals(me.policySha256())) {
        log.info("replica {} runs the same policy as this replica {} again (sha256 {})", peer.id(), replicaId,
            me.policySha256());
      }
    }
    warned = Set.copyOf(now);
    mismatches = now.size();
  }

  /** Watch callbacks of one watch, handed to the directory's thread; those of a replaced watch are ignored. */
  private final class SessionListener implements Watch.Listener {
    private final long session;

    SessionListener(long session) {
      this.session = session;
    }

    @Override
    public void onNext(WatchResponse response) {
      if (!response.getEvents().isEmpty()) {
        List<WatchEvent> events = List.copyOf(response.getEvents());
        execute(() -> apply(session, events));
      }
    }

    @Override
    public void onError(Throwable error) {
      execute(() -> failed(session, error));
    }

    @Override
    public void onCompleted() {
      execute(() -> failed(session, new IllegalStateException("etcd closed the watch")));
    }
  }

  private void failed(long session, Throwable error) {
    if (session != watchSession || closed) {
      return;
    }
    watchSession++;
    log.debug("replica directory: watch failed ({}); reading the replicas again", error.getMessage());
    closeWatcher();
    scheduler.schedule(this::load, backoff.next(), TimeUnit.MILLISECONDS);
  }

  private void closeWatcher() {
    Watch.Watcher old = watcher;
    watcher = null;
    if (old != null) {
      old.close();
    }
  }

  // ---------------------------------------------------------------------------------------------

  private <T> T await(CompletableFuture<T> future) {
    return OwnedLease.await(future, timeout);
  }

  private void execute(Runnable task) {
    try {
      scheduler.execute(task);
    } catch (RejectedExecutionException e) {
      // closed
    }
  }

  private static String key(KeyValue kv) {
    return kv.getKey().toString(StandardCharsets.UTF_8);
  }

  private static ByteSequence bytes(String text) {
    return ByteSequence.from(text, StandardCharsets.UTF_8);
  }

  /** Stops watching and revokes this replica's lease, so its record disappears from the others' views at once. */
  @Override
  public void close() {
    if (closed) {
      return;
    }
    closed = true;
    scheduler.shutdownNow();
    try {
      scheduler.awaitTermination(timeout.toMillis(), TimeUnit.MILLISECONDS);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
    closeWatcher();
    lease.revoke().ifPresent(why -> log.warn(
        "replica directory: could not revoke the lease of {} on close ({}); its record expires after {} s",
        replicaId, why, lease.ttlSeconds()));
    peers = List.of();
    mismatches = 0;
  }
}
