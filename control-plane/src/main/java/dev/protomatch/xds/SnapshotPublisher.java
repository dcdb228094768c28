package dev.protomatch.xds;

import dev.protomatch.util.Listeners;
import dev.protomatch.decision.RoutingDecision;
import io.envoyproxy.controlplane.cache.v3.SimpleCache;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Collections;
import java.util.EnumMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.function.Consumer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Hands decisions to java-control-plane's snapshot cache, one snapshot per {@link NodeKind} group.
 *
 * <p>Versions are {@link ContentVersions}: each type's version is a digest of that type's resources, so it
 * changes exactly when that type's resources change (a decision that changes only endpoints pushes only EDS,
 * one that changes nothing pushes nothing), it never names different content in another process (a client
 * that accepted a version from an earlier process is sent the new process's resources if they differ, and
 * nothing if they do not), and replicas with the same resources publish the same versions. Resources are
 * serialized once per resource object for all clients by {@link IdentityCachedSerializer} (configured in
 * {@link XdsServer}).
 *
 * <p>Make-before-break, since clients apply routes, clusters and assignments independently: routes that lead
 * to a cluster the routes in force do not are published only after that cluster and its assignment were, and
 * every client that asks for the cluster (Envoy: all, by its wildcard CDS subscription; proxyless clients:
 * those whose routes already lead to it) ACKed both by name ({@link ClientAcks#allHoldClusters},
 * {@link #publishStaged}), for at most {@code maxStaging}; a cluster the new routes no longer lead to stays
 * published until every client has ACKed routes without it ({@link ClusterRetention}).
 *
 * <p>Every snapshot that differs from the one in force first passes the {@link SnapshotPreflight}. One with
 * problems is not published: the last good snapshot stays in force, the problems are logged once per
 * distinct set, each refused snapshot is announced to the {@linkplain #addRejectionListener rejection
 * listeners}, and {@link #rejections()} shows it until a good snapshot replaces it (or the resources return to
 * the ones in force).
 *
 * <p>{@link #publish} is meant to be called from one thread (the routing updater's); its state is guarded by
 * the instance lock, and listeners are called after the lock is released.
 */
public final class SnapshotPublisher {
  private static final Logger log = LoggerFactory.getLogger(SnapshotPublisher.class);
  private static final int PROBLEMS_LOGGED = 20;

  /**
   * What one publication changed, for metrics and logs.
   *
   * @param versions the version of each type now in force for the node group
   * @param changed the new version of each type this publication changed (the others kept theirs)
   */
  public record Publication(NodeKind kind, Map<XdsType, String> versions, Map<XdsType, String> changed) {
    public Publication {
      versions = copy(versions);
      changed = copy(changed);
    }

    /** The changes as {@code "EDS 3f0c1b2a9d8e7f60"}, in CDS, EDS, LDS, RDS order. */
    public List<String> changedTypes() {
      return changed.entrySet().stream().map(e -> e.getKey() + " " + e.getValue()).toList();
    }
  }

  /**
   * A node group whose newest snapshot the pre-flight check refused; the last good one stays in force.
   *
   * @param problems the pre-flight's problems with the newest refused snapshot
   * @param since when the first snapshot of this run of refusals was refused
   * @param at when the newest one was
   * @param versionsInForce the versions clients of the group are still served; empty if nothing was ever
   *     published for it
   */
  public record Rejection(NodeKind kind, List<String> problems, Instant since, Instant at,
                          Map<XdsType, String> versionsInForce) {
    public Rejection {
      problems = List.copyOf(problems);
      versionsInForce = copy(versionsInForce);
    }
  }

  private record Published(XdsResources resources, ContentSnapshot snapshot) {}

  private record Refused(XdsResources resources, Rejection rejection) {}

  private final SimpleCache<String> cache;
  private final SnapshotBuilder builder;
  private final SnapshotPreflight preflight;
  private final Clock clock;
  private final Listeners<Publication> listeners = new Listeners<>("snapshot publication");
  private final Listeners<Rejection> rejectionListeners = new Listeners<>("snapshot rejection");
  // Guarded by this.
  private final Map<NodeKind, Published> published = new EnumMap<>(NodeKind.class);
  private final Map<NodeKind, Refused> refused = new EnumMap<>(NodeKind.class);
  private final Map<NodeKind, ClusterRetention> retention = new EnumMap<>(NodeKind.class);
  private final ClientAcks acks;
  private final Duration maxStaging;
  /** Snapshots whose clusters went out first; their routes follow once clients ACKed those. Guarded by this. */
  private final Map<NodeKind, Staged> staged = new EnumMap<>(NodeKind.class);

  /**
   * Routes waiting for clients to hold the clusters they newly lead to.
   *
   * @param since when the first of an uninterrupted run of staged snapshots was staged (a change arriving while
   *     routes wait does not restart the wait)
   */
  private record Staged(XdsResources full, Instant since, Set<String> newClusters, String clustersVersion,
                        String endpointsVersion) {}
  /** The current refusals, for readers on other threads; replaced whole under the lock. */
  private volatile List<Rejection> rejections = List.of();

  /** A publisher that publishes every snapshot (no pre-flight check) and reads the system clock. */
  public SnapshotPublisher(SimpleCache<String> cache, SnapshotBuilder builder) {
    this(cache, builder, SnapshotPreflight.ACCEPT_ALL, Clock.systemUTC());
  }

  /**
   * With no clients to wait for: routes, clusters and assignments change together, and a cluster the
   * routes drop is gone from the same publication.
   */
  public SnapshotPublisher(SimpleCache<String> cache, SnapshotBuilder builder, SnapshotPreflight preflight,
                           Clock clock) {
    this(cache, builder, preflight, clock, ClientAcks.NONE, Duration.ZERO, Duration.ZERO);
  }

  /**
   * @param acks what clients acknowledged: a cluster the routes drop stays published until every client
   *     ACKed routes without it (see {@link ClusterRetention}), at most {@code maxRetiredClusterHold}; routes
   *     that lead to a cluster clients do not have yet wait until every client ACKed the clusters and
   *     assignments published first, at most {@code maxStaging} (zero: no staging)
   */
  public SnapshotPublisher(SimpleCache<String> cache, SnapshotBuilder builder, SnapshotPreflight preflight,
                           Clock clock, ClientAcks acks, Duration maxRetiredClusterHold, Duration maxStaging) {
    this.cache = cache;
    this.builder = builder;
    this.preflight = preflight;
    this.clock = clock;
    this.acks = acks;
    this.maxStaging = maxStaging;
    for (NodeKind kind : NodeKind.values()) {
      retention.put(kind, new ClusterRetention(maxRetiredClusterHold));
    }
  }

  /** The longest a cluster the routes dropped stays published while some client has not ACKed routes without it. */
  public static final Duration MAX_RETIRED_CLUSTER_HOLD = Duration.ofMinutes(10);

  /** The longest new routes wait for clients to ACK the clusters they lead to. */
  public static final Duration MAX_STAGING = Duration.ofSeconds(2);

  /** Called with each publication, on the publishing thread. */
  public void addListener(Consumer<Publication> listener) {
    listeners.add(listener);
  }

  /** Called with each snapshot the pre-flight check refused, on the publishing thread. */
  public void addRejectionListener(Consumer<Rejection> listener) {
    rejectionListeners.add(listener);
  }

  /** The node groups whose newest snapshot is refused, in {@link NodeKind} order. */
  public List<Rejection> rejections() {
    return rejections;
  }

  /**
   * Publishes nothing, but lets {@link ClusterRetention} count {@code decision}'s clusters as published: for a
   * control plane that starts while clients still hold what an earlier process published under that decision's
   * policy. The first {@link #publish} then keeps those of them it drops for the grace period, as if this
   * process had published them (a fresh process would otherwise remove them at once, while clients' routes still
   * lead to them: SotW clients take a cluster missing from a CDS response as deleted).
   */
  public void assumePublished(RoutingDecision decision) {
    synchronized (this) {
      Instant now = clock.instant();
      for (NodeKind kind : NodeKind.values()) {
        if (!published.containsKey(kind)) {
          retention.get(kind).assumePublished(builder.build(decision, kind));
        }
      }
    }
  }

  /**
   * Before a restarted process's first publication: counts the clusters its connected clients already
   * subscribe to (names the previous process published) as published, as empty clusters where this process
   * has none, so the first publication does not delete them under the clients' routes (grpc-java 1.75 drops
   * its whole xDS client when a cluster its routes lead to is deleted) but retires them like any other.
   */
  public void assumeSubscribed(NodeKind kind, Set<String> clusterNames) {
    synchronized (this) {
      if (published.containsKey(kind)) {
        return;
      }
      for (String name : clusterNames) {
        retention.get(kind).assumePublished(SnapshotBuilder.emptyCluster(name, kind));
      }
    }
  }

  /** Publishes the decision to every node group whose resources it changes and that passes the pre-flight. */
  public void publish(RoutingDecision decision) {
    List<Runnable> announcements = new ArrayList<>();
    synchronized (this) {
      Instant now = clock.instant();
      for (NodeKind kind : NodeKind.values()) {
        XdsResources next = retention.get(kind).apply(builder.build(decision, kind), now,
            routeVersions -> acks.allAcked(kind, XdsType.RDS, routeVersions));
        stageOrPublish(kind, next, now, announcements);
      }
      List<Rejection> current = new ArrayList<>();
      refused.values().forEach(r -> current.add(r.rejection()));
      rejections = List.copyOf(current);
    }
    announcements.forEach(Runnable::run);
  }

  /**
   * Publishes the routes of snapshots staged by {@link #publish} once every client ACKed the clusters and
   * assignments published ahead of them, or once they waited {@code maxStaging}. Call on ACKs and
   * periodically.
   */
  public void publishStaged() {
    List<Runnable> announcements = new ArrayList<>();
    synchronized (this) {
      Instant now = clock.instant();
      for (NodeKind kind : List.copyOf(staged.keySet())) {
        Staged s = staged.get(kind);
        if (held(kind, s) || !s.since().plus(maxStaging).isAfter(now)) {
          staged.remove(kind);
          publish(kind, s.full(), announcements);
        }
      }
    }
    announcements.forEach(Runnable::run);
  }

  /** Whether every client holds the staged routes' new clusters and their assignments. Lock held. */
  private boolean held(NodeKind kind, Staged s) {
    return acks.allHoldClusters(kind, s.newClusters(), s.clustersVersion(), s.endpointsVersion());
  }

  /**
   * Make-before-break for new clusters: when {@code next}'s routes lead to a cluster the routes in force do
   * not (so clients may not hold it), its clusters and assignments are published first under the routes in
   * force, and the routes follow once every client holds those clusters ({@link #publishStaged}). Called with
   * the lock held.
   */
  private void stageOrPublish(NodeKind kind, XdsResources next, Instant now, List<Runnable> announcements) {
    Staged previous = staged.remove(kind);
    Published inForce = published.get(kind);
    Set<String> newClusters = inForce == null || maxStaging.isZero() ? Set.of()
        : newClusters(inForce.resources(), next);
    if (!newClusters.isEmpty()) {
      XdsResources clustersFirst = new XdsResources(next.clusters(), next.endpoints(),
          inForce.resources().listeners(), inForce.resources().routes());
      publish(kind, clustersFirst, announcements);
      Published first = published.get(kind);
      if (first != null && first.resources().equals(clustersFirst)) { // it passed the pre-flight
        Staged s = new Staged(next, previous == null ? now : previous.since(), newClusters,
            first.snapshot().versions().get(XdsType.CDS), first.snapshot().versions().get(XdsType.EDS));
        if (!held(kind, s) && s.since().plus(maxStaging).isAfter(now)) {
          staged.put(kind, s);
          return;
        }
      }
    }
    publish(kind, next, announcements);
  }

  /**
   * The clusters {@code next}'s routes lead to and the routes in force do not. Clients hold every cluster the
   * routes in force lead to (they were staged in turn), and no other cluster for sure: one the routes dropped
   * may be gone from a client that ACKed routes without it.
   */
  private static Set<String> newClusters(XdsResources inForce, XdsResources next) {
    Set<String> routed = routeClusters(next);
    routed.removeAll(routeClusters(inForce));
    return Set.copyOf(routed);
  }

  private static Set<String> routeClusters(XdsResources resources) {
    Set<String> clusters = new java.util.HashSet<>();
    resources.routes().stream().flatMap(r -> r.getVirtualHostsList().stream())
        .flatMap(v -> v.getRoutesList().stream())
        .filter(route -> route.hasRoute())
        .forEach(route -> clusters.add(route.getRoute().getCluster()));
    return clusters;
  }

  // Called with the lock held.
  private void publish(NodeKind kind, XdsResources next, List<Runnable> announcements) {
    Published previous = published.get(kind);
    if (previous != null && previous.resources().equals(next)) {
      recovered(kind, "its resources are back to the ones in force");
      return;
    }
    Refused lastRefused = refused.get(kind);
    if (lastRefused != null && lastRefused.resources().equals(next)) {
      return; // already refused, logged and counted
    }
    List<String> problems = check(kind, next);
    if (!problems.isEmpty()) {
      Rejection rejection = refuse(kind, next, problems, previous, lastRefused);
      announcements.add(() -> rejectionListeners.announce(rejection));
      return;
    }
    recovered(kind, "a snapshot passed the pre-flight check");
    ContentSnapshot snapshot = previous == null ? ContentSnapshot.of(next)
        : ContentSnapshot.of(next, previous.resources(), previous.snapshot());
    Map<XdsType, String> versions = snapshot.versions();
    Map<XdsType, String> changed = new EnumMap<>(XdsType.class);
    versions.forEach((type, version) -> {
      if (previous == null || !version.equals(previous.snapshot().versions().get(type))) {
        changed.put(type, version);
      }
    });
    published.put(kind, new Published(next, snapshot));
    if (changed.isEmpty()) {
      return; // the same resources in another order: nothing for clients
    }
    cache.setSnapshot(kind.group(), snapshot);
    retention.get(kind).routesPublished(versions.get(XdsType.RDS));
    Publication publication = new Publication(kind, versions, changed);
    log.debug("published {} snapshot: {}", kind.group(), publication.changedTypes());
    announcements.add(() -> listeners.announce(publication));
  }

  private List<String> check(NodeKind kind, XdsResources resources) {
    try {
      return List.copyOf(preflight.problems(kind, resources));
    } catch (RuntimeException e) {
      log.error("pre-flight check of the {} snapshot failed; refusing the snapshot", kind.group(), e);
      return List.of("pre-flight check failed: " + e);
    }
  }

  // Called with the lock held.
  private Rejection refuse(NodeKind kind, XdsResources next, List<String> problems, Published inForce,
                           Refused lastRefused) {
    Instant now = clock.instant();
    Map<XdsType, String> versionsInForce = inForce == null ? Map.of() : inForce.snapshot().versions();
    Rejection rejection = new Rejection(kind, problems, lastRefused == null ? now : lastRefused.rejection().since(),
        now, versionsInForce);
    refused.put(kind, new Refused(next, rejection));
    if (lastRefused == null || !lastRefused.rejection().problems().equals(problems)) {
      String listed = String.join("; ", problems.subList(0, Math.min(problems.size(), PROBLEMS_LOGGED)))
          + (problems.size() > PROBLEMS_LOGGED ? "; and " + (problems.size() - PROBLEMS_LOGGED) + " more" : "");
      log.warn("{} snapshot refused by the pre-flight check, {}: {}", kind.group(),
          inForce == null ? "nothing is published for this node group yet"
              : "the last good one stays in force (" + versionsText(versionsInForce) + ")", listed);
    }
    return rejection;
  }

  // Called with the lock held.
  private void recovered(NodeKind kind, String why) {
    if (refused.remove(kind) != null) {
      log.info("{} snapshot no longer refused: {}", kind.group(), why);
    }
  }

  private static String versionsText(Map<XdsType, String> versions) {
    return String.join(", ", versions.entrySet().stream().map(e -> e.getKey() + " " + e.getValue()).toList());
  }

  private static Map<XdsType, String> copy(Map<XdsType, String> versions) {
    Map<XdsType, String> copy = new EnumMap<>(XdsType.class);
    copy.putAll(versions);
    return Collections.unmodifiableMap(copy);
  }
}
