package dev.protomatch.testing;

import com.google.protobuf.Any;
import com.google.protobuf.InvalidProtocolBufferException;
import dev.protomatch.xds.XdsType;
import io.envoyproxy.envoy.config.cluster.v3.Cluster;
import io.envoyproxy.envoy.config.core.v3.Node;
import io.envoyproxy.envoy.config.endpoint.v3.ClusterLoadAssignment;
import io.envoyproxy.envoy.config.listener.v3.Filter;
import io.envoyproxy.envoy.config.listener.v3.FilterChain;
import io.envoyproxy.envoy.config.listener.v3.Listener;
import io.envoyproxy.envoy.config.route.v3.Route;
import io.envoyproxy.envoy.config.route.v3.RouteConfiguration;
import io.envoyproxy.envoy.config.route.v3.VirtualHost;
import io.envoyproxy.envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager;
import io.envoyproxy.envoy.service.discovery.v3.DiscoveryRequest;
import io.envoyproxy.envoy.service.discovery.v3.DiscoveryResponse;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.EnumMap;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;

/**
 * One state-of-the-world ADS stream that subscribes and applies as an Envoy sidecar does, but in an order a
 * test chooses: the adversary make-before-break must survive.
 *
 * <p>What it models of Envoy on a state-of-the-world ADS stream:
 * <ul>
 *   <li>Subscriptions: CDS wildcard first; LDS wildcard once the first clusters are applied and warm (Envoy's
 *       init manager); EDS for the EDS clusters it holds; RDS for the route configurations its listeners name.
 *   <li>ACK = applied: a response is ACKed (its version and nonce) only when the client applies it. Applying
 *       clusters first sends the EDS subscription they imply, then the CDS ACK (Envoy pauses EDS during a CDS
 *       update and resumes it before the ACK is queued); likewise listeners and RDS. A subscription change for
 *       a type with a response received but not applied yet waits for that response's ACK, which carries it
 *       (Envoy never holds a received response unapplied, so it never sends a stale nonce).
 *   <li>Clusters: a cluster absent from a CDS response is removed at once; a new EDS cluster is warming (not
 *       usable) until an EDS response naming it is applied after it was added; a known cluster stays usable.
 *       EDS and RDS responses update the resources they name and leave the others.
 *   <li>Calls: a route's method reaches the endpoints of its cluster's assignment; a route whose cluster is
 *       missing or still warming fails (503, no cluster), which make-before-break exists to prevent.
 * </ul>
 *
 * <p>Responses are buffered per type as they arrive ({@link #step} waits a short {@code linger} for more while
 * only clusters and assignments are pending, so routes published with them can overtake them); an {@link
 * ApplyOrder} picks which pending type is applied next. After every application the client checks what calls
 * its applied state would route against the ground truth (the method paths each endpoint address really
 * serves) and counts each {@link Violation} by {@link Kind}.
 *
 * <p>Not thread-safe: one test thread drives it.
 */
public final class EnvoyLikeAdsClient implements AutoCloseable {
  /** How a call on an exact-path route would break. */
  public enum Kind {
    /** The route's cluster is not in the applied clusters (never added, or already removed): 503. */
    ROUTE_TO_MISSING_CLUSTER,
    /** The route's cluster was added but its assignment has not been applied yet: 503. */
    ROUTE_TO_WARMING_CLUSTER,
    /** The route's cluster holds an endpoint whose build lacks the method: UNIMPLEMENTED. */
    ROUTE_TO_ENDPOINT_LACKING_METHOD
  }

  public record Violation(Kind kind, String path, String cluster, String detail) {
    @Override
    public String toString() {
      return kind + " " + path + " -> " + cluster + (detail.isEmpty() ? "" : " (" + detail + ")");
    }
  }

  /** Which of the pending response types the client applies next. */
  @FunctionalInterface
  public interface ApplyOrder {
    XdsType next(Set<XdsType> pending, EnvoyLikeAdsClient client);

    /**
     * The adversary: the type whose application breaks the most routes right now; on a tie routes and
     * listeners before assignments and clusters (new clusters as late as possible).
     */
    ApplyOrder WORST = (pending, client) -> pending.stream()
        .max(Comparator.<XdsType>comparingInt(type -> client.preview(type).size())
            .thenComparingInt(type -> List.of(XdsType.CDS, XdsType.EDS, XdsType.LDS, XdsType.RDS).indexOf(type)))
        .orElseThrow();
  }

  private final RawAdsStream<DiscoveryRequest, DiscoveryResponse> stream;
  private final Node node;
  private final Map<String, Set<String>> pathsServedAt;
  private final Duration linger;
  private final Map<XdsType, DiscoveryResponse> pending = new EnumMap<>(XdsType.class);
  private final Map<XdsType, DiscoveryResponse> applied = new EnumMap<>(XdsType.class);
  private final Map<XdsType, List<String>> subscribed = new EnumMap<>(XdsType.class);
  private AppliedState state = new AppliedState();
  private boolean nodeSent;
  private final Map<Kind, Integer> counts = new EnumMap<>(Kind.class);
  private final Set<String> examples = new TreeSet<>();
  private int steps;
  private int stepsWithViolations;

  /**
   * @param pathsServedAt the ground truth: per endpoint {@code host:port}, the method paths
   *     ({@code /pkg.Service/Method}) its process really serves
   * @param linger how long to wait for more responses while only clusters and assignments are pending
   */
  public EnvoyLikeAdsClient(int xdsPort, Node node, Map<String, Set<String>> pathsServedAt, Duration linger) {
    this.stream = RawAdsStream.sotw(xdsPort);
    this.node = node;
    this.pathsServedAt = Map.copyOf(pathsServedAt);
    this.linger = linger;
    for (Kind kind : Kind.values()) {
      counts.put(kind, 0);
    }
  }

  /** Subscribes to every cluster, as Envoy does first. */
  public EnvoyLikeAdsClient start() {
    request(XdsType.CDS);
    return this;
  }

  /**
   * Takes what arrived (waiting up to the linger while nothing or only clusters and assignments are pending),
   * applies one pending response chosen by {@code order}, checks the applied state and sends the requests it
   * implies. Returns false if nothing was pending.
   */
  public boolean step(ApplyOrder order) throws InterruptedException {
    gather();
    if (pending.isEmpty()) {
      return false;
    }
    apply(order.next(Set.copyOf(pending.keySet()), this));
    return true;
  }

  private void gather() throws InterruptedException {
    for (DiscoveryResponse r = stream.poll(Duration.ZERO); r != null; r = stream.poll(Duration.ZERO)) {
      receive(r);
    }
    long deadline = System.nanoTime() + linger.toNanos();
    while (!pending.containsKey(XdsType.LDS) && !pending.containsKey(XdsType.RDS)) {
      long left = deadline - System.nanoTime();
      if (left <= 0) {
        return;
      }
      DiscoveryResponse r = stream.poll(Duration.ofNanos(left));
      if (r != null) {
        receive(r);
      }
    }
  }

  private void receive(DiscoveryResponse response) {
    XdsType type = XdsType.ofTypeUrl(response.getTypeUrl())
        .orElseThrow(() -> new AssertionError("unexpected type " + response.getTypeUrl()));
    pending.put(type, response); // state of the world: a newer response of a type supersedes an older one
  }

  private void apply(XdsType type) {
    DiscoveryResponse response = pending.remove(type);
    state = state.with(type, response);
    applied.put(type, response);
    steps++;
    List<Violation> found = state.violations(pathsServedAt);
    if (!found.isEmpty()) {
      stepsWithViolations++;
      for (Violation v : found) {
        counts.merge(v.kind(), 1, Integer::sum);
        if (examples.size() < 20) {
          examples.add(v.toString());
        }
      }
    }
    switch (type) {
      case CDS -> {
        resubscribe(XdsType.EDS);
        request(XdsType.CDS);
        if (!subscribed.containsKey(XdsType.LDS) && state.warming.isEmpty()) {
          request(XdsType.LDS); // Envoy's init: listeners once the clusters are warm
        }
      }
      case EDS -> {
        request(XdsType.EDS);
        if (!subscribed.containsKey(XdsType.LDS) && applied.containsKey(XdsType.CDS) && state.warming.isEmpty()) {
          request(XdsType.LDS);
        }
      }
      case LDS -> {
        resubscribe(XdsType.RDS);
        request(XdsType.LDS);
      }
      case RDS -> request(XdsType.RDS);
    }
  }

  /** Sends the subscription the applied state implies, unless a response of that type awaits its ACK. */
  private void resubscribe(XdsType type) {
    if (!pending.containsKey(type) && !names(type).equals(subscribed.get(type))) {
      request(type);
    }
  }

  /** A request for {@code type}: the ACK of the last applied response (if any), with the names wanted now. */
  private void request(XdsType type) {
    List<String> names = names(type);
    DiscoveryRequest.Builder request = DiscoveryRequest.newBuilder().setTypeUrl(type.typeUrl())
        .addAllResourceNames(names);
    DiscoveryResponse last = applied.get(type);
    if (last != null) {
      request.setVersionInfo(last.getVersionInfo()).setResponseNonce(last.getNonce());
    }
    if (!nodeSent) {
      request.setNode(node);
      nodeSent = true;
    }
    subscribed.put(type, names);
    stream.send(request.build());
  }

  private List<String> names(XdsType type) {
    return switch (type) {
      case CDS, LDS -> List.of();
      case EDS -> List.copyOf(state.edsNames());
      case RDS -> List.copyOf(state.routeConfigNames());
    };
  }

  /** What breaks if {@code type}'s pending response were applied now (for strategies). */
  public List<Violation> preview(XdsType type) {
    DiscoveryResponse response = pending.get(type);
    return response == null ? List.of() : state.with(type, response).violations(pathsServedAt);
  }

  /** Nothing received and not yet applied. */
  public boolean idle() {
    return pending.isEmpty() && stream.waiting() == 0;
  }

  /** The version of each type last applied. */
  public Map<XdsType, String> appliedVersions() {
    Map<XdsType, String> versions = new EnumMap<>(XdsType.class);
    applied.forEach((type, response) -> versions.put(type, response.getVersionInfo()));
    return versions;
  }

  /** The applied clusters still waiting for their assignment. */
  public Set<String> warming() {
    return Set.copyOf(state.warming);
  }

  /** The applied route configurations a listener names, by name. */
  public Map<String, RouteConfiguration> liveRoutes() {
    Map<String, RouteConfiguration> live = new TreeMap<>();
    for (String name : state.routeConfigNames()) {
      Optional.ofNullable(state.routes.get(name)).ifPresent(r -> live.put(name, r));
    }
    return live;
  }

  /** Violations counted over every application so far, by kind (every kind present). */
  public Map<Kind, Integer> counts() {
    return new EnumMap<>(counts);
  }

  /** Up to 20 distinct violations seen, for reports. */
  public Set<String> examples() {
    return Set.copyOf(examples);
  }

  public int steps() {
    return steps;
  }

  public int stepsWithViolations() {
    return stepsWithViolations;
  }

  @Override
  public String toString() {
    return "applied " + appliedVersions() + ", pending " + pending.keySet() + ", clusters " + state.clusters.keySet()
        + ", warming " + state.warming + ", EDS subscribed " + subscribed.get(XdsType.EDS);
  }

  @Override
  public void close() {
    stream.close();
  }

  /** What the client has applied; each application makes a new one, so strategies can preview. */
  private static final class AppliedState {
    final Map<String, Cluster> clusters = new TreeMap<>();
    final Set<String> warming = new TreeSet<>();
    final Map<String, ClusterLoadAssignment> assignments = new TreeMap<>();
    final Map<String, Listener> listeners = new TreeMap<>();
    final Map<String, RouteConfiguration> routes = new TreeMap<>();

    AppliedState with(XdsType type, DiscoveryResponse response) {
      AppliedState next = new AppliedState();
      next.clusters.putAll(clusters);
      next.warming.addAll(warming);
      next.assignments.putAll(assignments);
      next.listeners.putAll(listeners);
      next.routes.putAll(routes);
      switch (type) {
        case CDS -> {
          Map<String, Cluster> received = new HashMap<>();
          response.getResourcesList().forEach(any -> {
            Cluster c = unpack(any, Cluster.class);
            received.put(c.getName(), c);
          });
          for (String name : Set.copyOf(next.clusters.keySet())) {
            if (!received.containsKey(name)) { // SotW: a cluster missing from the response is deleted
              next.clusters.remove(name);
              next.warming.remove(name);
              next.assignments.remove(edsName(clusters.get(name)));
            }
          }
          received.forEach((name, cluster) -> {
            if (!next.clusters.containsKey(name) && cluster.getType() == Cluster.DiscoveryType.EDS) {
              next.warming.add(name);
              next.assignments.remove(edsName(cluster));
            }
            next.clusters.put(name, cluster);
          });
        }
        case EDS -> response.getResourcesList().forEach(any -> {
          ClusterLoadAssignment cla = unpack(any, ClusterLoadAssignment.class);
          next.clusters.values().stream().filter(c -> edsName(c).equals(cla.getClusterName())).forEach(c -> {
            next.assignments.put(cla.getClusterName(), cla);
            next.warming.remove(c.getName());
          });
        });
        case LDS -> {
          next.listeners.clear();
          response.getResourcesList().forEach(any -> {
            Listener l = unpack(any, Listener.class);
            next.listeners.put(l.getName(), l);
          });
        }
        case RDS -> response.getResourcesList().forEach(any -> {
          RouteConfiguration r = unpack(any, RouteConfiguration.class);
          next.routes.put(r.getName(), r);
        });
      }
      return next;
    }

    Set<String> edsNames() {
      Set<String> names = new TreeSet<>();
      clusters.values().stream().filter(c -> c.getType() == Cluster.DiscoveryType.EDS)
          .forEach(c -> names.add(edsName(c)));
      return names;
    }

    Set<String> routeConfigNames() {
      Set<String> names = new TreeSet<>();
      for (Listener listener : listeners.values()) {
        List<Any> managers = new ArrayList<>();
        for (FilterChain chain : listener.getFilterChainsList()) {
          for (Filter filter : chain.getFiltersList()) {
            managers.add(filter.getTypedConfig());
          }
        }
        if (listener.hasApiListener()) {
          managers.add(listener.getApiListener().getApiListener());
        }
        for (Any any : managers) {
          if (any.is(HttpConnectionManager.class)) {
            HttpConnectionManager hcm = unpack(any, HttpConnectionManager.class);
            if (hcm.hasRds()) {
              names.add(hcm.getRds().getRouteConfigName());
            }
          }
        }
      }
      return names;
    }

    /** Every exact-path route of a live route configuration, judged as a call on it would go. */
    List<Violation> violations(Map<String, Set<String>> pathsServedAt) {
      List<Violation> found = new ArrayList<>();
      for (String name : routeConfigNames()) {
        RouteConfiguration configuration = routes.get(name);
        if (configuration == null) {
          continue; // Envoy keeps the listener warming: no calls yet
        }
        for (VirtualHost host : configuration.getVirtualHostsList()) {
          for (Route route : host.getRoutesList()) {
            String path = route.getMatch().getPath();
            if (path.isEmpty() || !route.hasRoute()) {
              continue;
            }
            String cluster = route.getRoute().getCluster();
            if (!clusters.containsKey(cluster)) {
              found.add(new Violation(Kind.ROUTE_TO_MISSING_CLUSTER, path, cluster, ""));
            } else if (warming.contains(cluster)) {
              found.add(new Violation(Kind.ROUTE_TO_WARMING_CLUSTER, path, cluster, ""));
            } else {
              ClusterLoadAssignment cla = assignments.get(edsName(clusters.get(cluster)));
              if (cla == null) {
                continue;
              }
              cla.getEndpointsList().stream().flatMap(l -> l.getLbEndpointsList().stream()).forEach(e -> {
                var socket = e.getEndpoint().getAddress().getSocketAddress();
                String address = socket.getAddress() + ":" + socket.getPortValue();
                if (!pathsServedAt.getOrDefault(address, Set.of()).contains(path)) {
                  found.add(new Violation(Kind.ROUTE_TO_ENDPOINT_LACKING_METHOD, path, cluster, address));
                }
              });
            }
          }
        }
      }
      return found;
    }

    private static String edsName(Cluster cluster) {
      String serviceName = cluster.getEdsClusterConfig().getServiceName();
      return serviceName.isEmpty() ? cluster.getName() : serviceName;
    }

    private static <T extends com.google.protobuf.Message> T unpack(Any any, Class<T> type) {
      try {
        return any.unpack(type);
      } catch (InvalidProtocolBufferException e) {
        throw new AssertionError("cannot read " + any.getTypeUrl(), e);
      }
    }
  }
}
