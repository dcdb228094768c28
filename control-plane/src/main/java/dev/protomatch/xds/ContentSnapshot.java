package dev.protomatch.xds;

import io.envoyproxy.controlplane.cache.Resources;
import io.envoyproxy.controlplane.cache.SnapshotResources;
import io.envoyproxy.controlplane.cache.v3.Snapshot;
import io.envoyproxy.envoy.config.cluster.v3.Cluster;
import io.envoyproxy.envoy.config.endpoint.v3.ClusterLoadAssignment;
import io.envoyproxy.envoy.config.listener.v3.Listener;
import io.envoyproxy.envoy.config.route.v3.RouteConfiguration;
import io.envoyproxy.envoy.extensions.transport_sockets.tls.v3.Secret;
import java.util.EnumMap;
import java.util.List;
import java.util.Map;

/**
 * A java-control-plane snapshot whose versions, per type and per resource, are {@link ContentVersions}
 * rather than java-control-plane's defaults (a caller-chosen string per type, and per resource a hash of
 * {@code Object.hashCode()}, which differs from process to process). Immutable.
 */
@SuppressWarnings("unchecked") // javac checks the raw versionedResources override below at class level
final class ContentSnapshot extends Snapshot {
  private static final SnapshotResources<Secret> NO_SECRETS = ContentVersions.resources(List.of());

  private final SnapshotResources<Cluster> clusters;
  private final SnapshotResources<ClusterLoadAssignment> endpoints;
  private final SnapshotResources<Listener> listeners;
  private final SnapshotResources<RouteConfiguration> routes;

  private ContentSnapshot(SnapshotResources<Cluster> clusters, SnapshotResources<ClusterLoadAssignment> endpoints,
                          SnapshotResources<Listener> listeners, SnapshotResources<RouteConfiguration> routes) {
    this.clusters = clusters;
    this.endpoints = endpoints;
    this.listeners = listeners;
    this.routes = routes;
  }

  /** A snapshot of {@code resources}, versioned from scratch. */
  static ContentSnapshot of(XdsResources resources) {
    return new ContentSnapshot(ContentVersions.resources(resources.clusters()),
        ContentVersions.resources(resources.endpoints()), ContentVersions.resources(resources.listeners()),
        ContentVersions.resources(resources.routes()));
  }

  /**
   * A snapshot of {@code next} that reuses {@code previous}'s versioned resources for every type whose
   * resources are unchanged, and within a changed type every resource object carried over from the previous
   * snapshot (so only rebuilt resources are digested again).
   */
  static ContentSnapshot of(XdsResources next, XdsResources previousResources, ContentSnapshot previous) {
    return new ContentSnapshot(
        next.clusters().equals(previousResources.clusters()) ? previous.clusters
            : ContentVersions.resources(next.clusters(), previous.clusters),
        next.endpoints().equals(previousResources.endpoints()) ? previous.endpoints
            : ContentVersions.resources(next.endpoints(), previous.endpoints),
        next.listeners().equals(previousResources.listeners()) ? previous.listeners
            : ContentVersions.resources(next.listeners(), previous.listeners),
        next.routes().equals(previousResources.routes()) ? previous.routes
            : ContentVersions.resources(next.routes(), previous.routes));
  }

  /** The version of each of the four published types. */
  Map<XdsType, String> versions() {
    Map<XdsType, String> versions = new EnumMap<>(XdsType.class);
    versions.put(XdsType.CDS, clusters.version());
    versions.put(XdsType.EDS, endpoints.version());
    versions.put(XdsType.LDS, listeners.version());
    versions.put(XdsType.RDS, routes.version());
    return versions;
  }

  @Override
  public SnapshotResources<Cluster> clusters() {
    return clusters;
  }

  @Override
  public SnapshotResources<ClusterLoadAssignment> endpoints() {
    return endpoints;
  }

  @Override
  public SnapshotResources<Listener> listeners() {
    return listeners;
  }

  @Override
  public SnapshotResources<RouteConfiguration> routes() {
    return routes;
  }

  @Override
  public SnapshotResources<Secret> secrets() {
    return NO_SECRETS;
  }

  /**
   * The v3 snapshot's own, declared again only because javac does not accept that one's
   * {@code Map<String, VersionedResource<?>>} as implementing the base class's
   * {@code Map<String, VersionedResource<? extends Message>>} in a subclass; the raw type satisfies both.
   */
  @Override
  @SuppressWarnings("rawtypes")
  public Map versionedResources(Resources.ResourceType resourceType) {
    return super.versionedResources(resourceType);
  }
}
