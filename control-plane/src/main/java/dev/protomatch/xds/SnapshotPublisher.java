package dev.protomatch.xds;

import dev.protomatch.decision.RoutingDecision;
import io.envoyproxy.controlplane.cache.v3.SimpleCache;
import io.envoyproxy.controlplane.cache.v3.Snapshot;
import java.util.EnumMap;
import java.util.List;
import java.util.Map;
import java.util.function.Consumer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Hands decisions to java-control-plane's snapshot cache, one snapshot per {@link NodeKind} group.
 *
 * <p>Each resource type has its own version counter, bumped only when that type's resources changed: a
 * decision that changes only endpoints pushes only EDS, and a decision that changes nothing pushes
 * nothing. Versions only ever increase. Resources are serialized once per version for all clients by
 * java-control-plane's {@code CachedProtoResourcesSerializer} (configured in {@link XdsServer}).
 */
public final class SnapshotPublisher {
  private static final Logger log = LoggerFactory.getLogger(SnapshotPublisher.class);

  /**
   * What one publication changed, for metrics and logs.
   *
   * @param changed the new version of each type this publication changed (the others kept theirs)
   */
  public record Publication(NodeKind kind, long clustersVersion, long endpointsVersion, long listenersVersion,
                            long routesVersion, Map<XdsType, Long> changed) {
    public Publication {
      Map<XdsType, Long> copy = new EnumMap<>(XdsType.class);
      copy.putAll(changed);
      changed = java.util.Collections.unmodifiableMap(copy);
    }

    /** The changes as {@code "EDS v2"}, in CDS, EDS, LDS, RDS order. */
    public List<String> changedTypes() {
      return changed.entrySet().stream().map(e -> e.getKey() + " v" + e.getValue()).toList();
    }
  }

  private final SimpleCache<String> cache;
  private final SnapshotBuilder builder;
  private final Map<NodeKind, Published> published = new EnumMap<>(NodeKind.class);
  private final List<Consumer<Publication>> listeners = new java.util.concurrent.CopyOnWriteArrayList<>();

  private record Published(XdsResources resources, long clusters, long endpoints, long listeners, long routes) {}

  public SnapshotPublisher(SimpleCache<String> cache, SnapshotBuilder builder) {
    this.cache = cache;
    this.builder = builder;
  }

  public void addListener(Consumer<Publication> listener) {
    listeners.add(listener);
  }

  /** Publishes the decision to every node group whose resources it changes. Not thread-safe: call from one thread. */
  public synchronized void publish(RoutingDecision decision) {
    for (NodeKind kind : NodeKind.values()) {
      XdsResources next = builder.build(decision, kind);
      Published previous = published.get(kind);
      if (previous != null && previous.resources().equals(next)) {
        continue;
      }
      Map<XdsType, Long> changed = new EnumMap<>(XdsType.class);
      long clusters = bump(previous == null ? 0 : previous.clusters(),
          previous == null || !previous.resources().clusters().equals(next.clusters()), XdsType.CDS, changed);
      long endpoints = bump(previous == null ? 0 : previous.endpoints(),
          previous == null || !previous.resources().endpoints().equals(next.endpoints()), XdsType.EDS, changed);
      long listenerVersion = bump(previous == null ? 0 : previous.listeners(),
          previous == null || !previous.resources().listeners().equals(next.listeners()), XdsType.LDS, changed);
      long routes = bump(previous == null ? 0 : previous.routes(),
          previous == null || !previous.resources().routes().equals(next.routes()), XdsType.RDS, changed);
      cache.setSnapshot(kind.group(), Snapshot.create(
          next.clusters(), Long.toString(clusters),
          next.endpoints(), Long.toString(endpoints),
          next.listeners(), Long.toString(listenerVersion),
          next.routes(), Long.toString(routes),
          List.of(), "0"));
      published.put(kind, new Published(next, clusters, endpoints, listenerVersion, routes));
      Publication publication = new Publication(kind, clusters, endpoints, listenerVersion, routes, changed);
      log.debug("published {} snapshot: {}", kind.group(), publication.changedTypes());
      listeners.forEach(l -> l.accept(publication));
    }
  }

  private static long bump(long version, boolean changed, XdsType type, Map<XdsType, Long> changedTypes) {
    if (!changed) {
      return version;
    }
    changedTypes.put(type, version + 1);
    return version + 1;
  }
}
