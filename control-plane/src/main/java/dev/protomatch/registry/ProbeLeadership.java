package dev.protomatch.registry;

import dev.protomatch.util.Listeners;
import io.etcd.jetcd.ByteSequence;
import io.etcd.jetcd.Client;
import io.etcd.jetcd.KeyValue;
import io.etcd.jetcd.kv.TxnResponse;
import io.etcd.jetcd.op.Cmp;
import io.etcd.jetcd.op.CmpTarget;
import io.etcd.jetcd.op.Op;
import io.etcd.jetcd.options.GetOption;
import io.etcd.jetcd.options.PutOption;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Which replica probes: the one holding {@code <prefix>probe-leader}, a key attached to that replica's own
 * etcd lease. The others only read the probe results the leader records in etcd, so N replicas probe each
 * endpoint once, not N times. (Chosen over partitioned probing: one prober keeps the probe load and the
 * failure backoff exactly as with one replica, and needs no rebalancing when replicas come and go.)
 *
 * <p>Every third of the TTL, each replica renews its lease and tries to create the key if absent
 * (an etcd transaction). A leader that dies stops renewing, etcd deletes the key after the TTL, and
 * another replica takes the job within a third of the TTL after that. A leader that closes revokes its
 * lease, so the job moves at once. A replica that cannot reach etcd within the timeout stops calling
 * itself leader at once (it cannot know whether its lease still holds): briefly no prober rather than two.
 *
 * <p>Threads: one daemon thread of its own does all etcd calls and calls the listeners (never under a lock)
 * when {@link #isLeader()} changes; {@code leader} and {@code holder} are volatile, read by anyone.
 */
public final class ProbeLeadership implements AutoCloseable {
  private static final Logger log = LoggerFactory.getLogger(ProbeLeadership.class);
  static final String KEY = "probe-leader";

  private final Client client;
  private final ByteSequence key;
  private final String replicaId;
  private final ByteSequence me;
  private final Duration timeout;
  private final EtcdTarget target;
  private final ScheduledExecutorService scheduler;
  private final Listeners<Void> listeners = new Listeners<>("probe leadership change");
  private volatile boolean leader;
  private volatile Optional<String> holder = Optional.empty();
  private volatile boolean closed;
  private final OwnedLease lease; // scheduler thread only (and close(), after the scheduler stopped)

  private ProbeLeadership(
      Client client, String key, String replicaId, Duration ttl, Duration timeout, EtcdTarget target) {
    if (replicaId.isBlank()) {
      throw new IllegalArgumentException("a replica id must not be blank");
    }
    this.client = client;
    this.key = ByteSequence.from(key, StandardCharsets.UTF_8);
    this.replicaId = replicaId;
    this.me = ByteSequence.from(replicaId, StandardCharsets.UTF_8);
    this.lease = new OwnedLease(client, ttl, timeout);
    this.timeout = timeout;
    this.target = target;
    this.scheduler = Executors.newSingleThreadScheduledExecutor(runnable -> {
      Thread thread = new Thread(runnable, "protomatch-probe-leadership");
      thread.setDaemon(true);
      return thread;
    });
  }

  static ProbeLeadership start(
      Client client, String key, String replicaId, Duration ttl, Duration timeout, EtcdTarget target) {
    ProbeLeadership leadership = new ProbeLeadership(client, key, replicaId, ttl, timeout, target);
    leadership.scheduler.scheduleWithFixedDelay(
        leadership::tick, 0, leadership.lease.renewEveryMillis(), TimeUnit.MILLISECONDS);
    return leadership;
  }

  /** Whether this replica should probe now. */
  public boolean isLeader() {
    return leader;
  }

  /** The replica id holding the job as last seen in etcd; empty before the first answer or when unknown. */
  public Optional<String> holder() {
    return holder;
  }

  public String replicaId() {
    return replicaId;
  }

  /** Called on the leadership thread whenever {@link #isLeader()} changes. */
  public void addListener(Runnable onChange) {
    listeners.add(onChange);
  }

  private void tick() {
    if (closed) {
      return;
    }
    try {
      lease.renew(); // false if etcd forgot it: the key it held is gone, a new lease competes below
      long leaseId = lease.acquire();
      TxnResponse txn = OwnedLease.await(client.getKVClient().txn()
          .If(new Cmp(key, Cmp.Op.EQUAL, CmpTarget.version(0)))
          .Then(Op.put(key, me, PutOption.builder().withLeaseId(leaseId).build()))
          .Else(Op.get(key, GetOption.DEFAULT))
          .commit(), timeout);
      if (txn.isSucceeded()) {
        update(true, Optional.of(replicaId));
        return;
      }
      List<KeyValue> kvs = txn.getGetResponses().isEmpty() ? List.of() : txn.getGetResponses().get(0).getKvs();
      if (kvs.isEmpty()) {
        update(false, Optional.empty()); // deleted between compare and get: try again next tick
        return;
      }
      KeyValue held = kvs.get(0);
      update(held.getLease() == leaseId, Optional.of(held.getValue().toString(StandardCharsets.UTF_8)));
    } catch (RuntimeException e) {
      if (leader) {
        log.warn("probe leadership: cannot reach etcd at {} ({}); no longer probing", target.describe(),
            e.getMessage());
      }
      update(false, Optional.empty());
    }
  }

  private void update(boolean nowLeader, Optional<String> nowHolder) {
    holder = nowHolder;
    if (leader == nowLeader) {
      return;
    }
    leader = nowLeader;
    log.info("probe leadership: {} {} probing", replicaId, nowLeader ? "starts" : "stops");
    listeners.signal();
  }

  /** Stops competing and revokes this replica's lease, so another replica takes the job at once. */
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
    lease.revoke().ifPresent(why ->
        log.warn("probe leadership: could not revoke its lease on close ({}); it expires after {} s", why,
            lease.ttlSeconds()));
    leader = false;
  }
}
