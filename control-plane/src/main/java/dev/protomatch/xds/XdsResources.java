package dev.protomatch.xds;

import io.envoyproxy.envoy.config.cluster.v3.Cluster;
import io.envoyproxy.envoy.config.endpoint.v3.ClusterLoadAssignment;
import io.envoyproxy.envoy.config.listener.v3.Listener;
import io.envoyproxy.envoy.config.route.v3.RouteConfiguration;
import java.util.List;

/** One node kind's complete xDS resource set, each list sorted by resource name (so equal sets are equal). */
public record XdsResources(
    List<Cluster> clusters, List<ClusterLoadAssignment> endpoints, List<Listener> listeners,
    List<RouteConfiguration> routes) {

  public XdsResources {
    clusters = List.copyOf(clusters);
    endpoints = List.copyOf(endpoints);
    listeners = List.copyOf(listeners);
    routes = List.copyOf(routes);
  }
}
