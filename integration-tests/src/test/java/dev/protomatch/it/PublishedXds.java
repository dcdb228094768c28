package dev.protomatch.it;

import dev.protomatch.server.ControlPlane;
import dev.protomatch.xds.NodeKind;
import io.envoyproxy.controlplane.cache.v3.Snapshot;
import io.envoyproxy.envoy.config.endpoint.v3.ClusterLoadAssignment;
import io.envoyproxy.envoy.config.endpoint.v3.LbEndpoint;
import io.envoyproxy.envoy.config.endpoint.v3.LocalityLbEndpoints;
import io.envoyproxy.envoy.config.route.v3.Route;
import io.envoyproxy.envoy.config.route.v3.RouteConfiguration;
import io.envoyproxy.envoy.config.route.v3.VirtualHost;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.TreeSet;

/**
 * What the control plane currently publishes to proxyless clients, read from its snapshot cache: which
 * ports a service's clusters assign, and whether its routes carry a retry policy. Reads the published
 * resources, not the decision, so it holds however clusters are named or decided.
 */
final class PublishedXds {
  private PublishedXds() {}

  private static Optional<Snapshot> proxyless(ControlPlane controlPlane) {
    return Optional.ofNullable(controlPlane.snapshotCache().getSnapshot(NodeKind.PROXYLESS.group()));
  }

  /** Ports of loopback endpoints in every assignment of {@code cluster} or a cluster named {@code cluster~...}. */
  static Set<Integer> assignedPorts(ControlPlane controlPlane, String cluster) {
    Set<Integer> ports = new TreeSet<>();
    proxyless(controlPlane).ifPresent(snapshot -> {
      for (ClusterLoadAssignment assignment : snapshot.endpoints().resources().values()) {
        if (assignment.getClusterName().equals(cluster) || assignment.getClusterName().startsWith(cluster + "~")) {
          for (LocalityLbEndpoints locality : assignment.getEndpointsList()) {
            for (LbEndpoint endpoint : locality.getLbEndpointsList()) {
              ports.add(endpoint.getEndpoint().getAddress().getSocketAddress().getPortValue());
            }
          }
        }
      }
    });
    return ports;
  }

  /** The route configuration proxyless clients of {@code name} get (protomatch names it after the cluster). */
  static Optional<RouteConfiguration> routes(ControlPlane controlPlane, String name) {
    return proxyless(controlPlane).map(snapshot -> snapshot.routes().resources().get(name));
  }

  /** Every route of the configuration with a retry policy on it or on its virtual host, as text (empty: none). */
  static List<String> retryPolicies(RouteConfiguration routes) {
    List<String> found = new java.util.ArrayList<>();
    for (VirtualHost host : routes.getVirtualHostsList()) {
      if (host.hasRetryPolicy()) {
        found.add("virtual host " + host.getName() + ": " + oneLine(host.getRetryPolicy().toString()));
      }
      for (Route route : host.getRoutesList()) {
        if (route.getRoute().hasRetryPolicy()) {
          found.add(route.getMatch().getPathSpecifierCase() + " " + route.getMatch().getPath()
              + route.getMatch().getPrefix() + ": " + oneLine(route.getRoute().getRetryPolicy().toString()));
        }
      }
    }
    return found;
  }

  private static String oneLine(String text) {
    return text.replaceAll("\\s+", " ").trim();
  }
}
