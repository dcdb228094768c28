package dev.protomatch.it;

import dev.protomatch.decision.ExcludedEndpoint;
import dev.protomatch.decision.RoutableEndpoint;
import dev.protomatch.decision.RoutingDecision;
import dev.protomatch.decision.ServiceDecision;
import dev.protomatch.registry.EndpointState;
import dev.protomatch.registry.RegistryState;
import dev.protomatch.xds.NodeKind;
import dev.protomatch.xds.SnapshotBuilder;
import dev.protomatch.xds.SnapshotPublisher;
import dev.protomatch.xds.XdsClientTracker;
import dev.protomatch.xds.XdsServer;
import io.envoyproxy.controlplane.cache.v3.SimpleCache;
import io.grpc.InsecureServerCredentials;
import java.net.InetSocketAddress;
import java.time.Clock;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.SortedMap;
import java.util.TreeMap;

/**
 * The control experiment: an xDS server publishing what a balancer without protomatch would, every
 * endpoint that claims the service in one cluster, no per-method routes. Clients use the same xDS client
 * and the same call harness, so the only difference from protomatch is the filtering.
 */
final class Unfiltered implements AutoCloseable {
  private final XdsServer server;
  private final SnapshotPublisher publisher;

  private Unfiltered(XdsServer server, SnapshotPublisher publisher) {
    this.server = server;
    this.publisher = publisher;
  }

  static Unfiltered start() throws Exception {
    SimpleCache<String> cache = new SimpleCache<>(node -> NodeKind.of(node).group());
    XdsServer server = XdsServer.start(new InetSocketAddress("127.0.0.1", 0), InsecureServerCredentials.create(), cache,
        new XdsClientTracker(Clock.systemUTC()));
    return new Unfiltered(server, new SnapshotPublisher(cache, new SnapshotBuilder("127.0.0.1", 15001)));
  }

  /** Publishes {@code decision} with every excluded endpoint put back in and per-method routing removed. */
  void publish(RoutingDecision decision, RegistryState state) {
    SortedMap<String, ServiceDecision> services = new TreeMap<>();
    decision.services().forEach((name, service) -> {
      List<RoutableEndpoint> all = new ArrayList<>(new java.util.LinkedHashSet<>(service.included()));
      for (ExcludedEndpoint excluded : service.excluded()) {
        EndpointState endpoint = state.endpoints().get(excluded.address());
        all.add(new RoutableEndpoint(endpoint.address(), endpoint.locality(), endpoint.weight(), Optional.empty()));
      }
      // Fail-open is exactly "as if protomatch did not filter": every endpoint takes every call.
      services.put(name, new ServiceDecision(service.policy(), service.expected(), new TreeMap<>(), new TreeMap<>(),
          all, List.of(), ServiceDecision.Outcome.NONE_QUALIFIED_FAIL_OPEN));
    });
    publisher.publish(new RoutingDecision(decision.decidedAt(), decision.registryVersion(), services));
  }

  int port() {
    return server.port();
  }

  @Override
  public void close() throws InterruptedException {
    server.close();
  }
}
