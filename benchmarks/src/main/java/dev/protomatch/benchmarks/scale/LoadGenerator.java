package dev.protomatch.benchmarks.scale;

import com.google.protobuf.Any;
import com.google.protobuf.InvalidProtocolBufferException;
import io.envoyproxy.envoy.config.cluster.v3.Cluster;
import io.envoyproxy.envoy.config.core.v3.Node;
import io.envoyproxy.envoy.config.endpoint.v3.ClusterLoadAssignment;
import io.envoyproxy.envoy.config.endpoint.v3.LbEndpoint;
import io.envoyproxy.envoy.config.endpoint.v3.LocalityLbEndpoints;
import io.envoyproxy.envoy.config.listener.v3.Filter;
import io.envoyproxy.envoy.config.listener.v3.FilterChain;
import io.envoyproxy.envoy.config.listener.v3.Listener;
import io.envoyproxy.envoy.config.route.v3.Route;
import io.envoyproxy.envoy.config.route.v3.RouteConfiguration;
import io.envoyproxy.envoy.config.route.v3.VirtualHost;
import io.envoyproxy.envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager;
import io.envoyproxy.envoy.service.discovery.v3.AggregatedDiscoveryServiceGrpc;
import io.envoyproxy.envoy.service.discovery.v3.DeltaDiscoveryRequest;
import io.envoyproxy.envoy.service.discovery.v3.DeltaDiscoveryResponse;
import io.envoyproxy.envoy.service.discovery.v3.DiscoveryRequest;
import io.envoyproxy.envoy.service.discovery.v3.DiscoveryResponse;
import io.envoyproxy.envoy.service.discovery.v3.Resource;
import io.grpc.ManagedChannel;
import io.grpc.netty.shaded.io.grpc.netty.NettyChannelBuilder;
import io.grpc.stub.StreamObserver;
import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.LongAdder;

/**
 * The scale harness's load generator, a JVM of its own: {@code --streams} raw ADS streams to one xDS server,
 * {@code --streams-per-channel} per HTTP/2 connection, acting as real clients do: every response is ACKed at
 * once, and subscriptions follow the resources (a proxyless stream watches the listeners of its {@code --watch}
 * services, the route configurations they name, the clusters those routes lead to and those clusters'
 * assignments; an Envoy-style stream ({@code user_agent_name: envoy}) subscribes to every listener and cluster
 * (wildcard), the route configurations its listeners name and every cluster's assignment). The first
 * {@code --envoy} streams are Envoy-style; within each kind every other stream is delta ({@code --delta-every 2}).
 *
 * <p>Driven over stdin/stdout, one line each:
 * <ul>
 *   <li>{@code STATUS} → {@code STATUS ready=<streams holding LDS, RDS, CDS and every EDS they watch> of=<n>
 *       envoyEndpoints=<endpoints held by stream 0 if Envoy-style> errors=<streams ended>};
 *   <li>{@code ARM <id> <add|remove> <service index> <host>} → {@code ARMED <id> <affected streams>}: from now on
 *       each stream watching the service notes when it has ACKed an assignment of the service's clusters that holds
 *       (add) or no longer holds (remove) the host;
 *   <li>{@code WAIT <id> <timeout ms>} → {@code RESULT <id> <done> <affected> <kind>:<epoch micros>,...} once
 *       every affected stream is done or the timeout passed ({@code kind}: {@code ps} proxyless SotW,
 *       {@code pd} proxyless delta, {@code es}, {@code ed} Envoy-style);
 *   <li>{@code BYTES} → {@code BYTES <response bytes received> <responses>}; {@code QUIT}.
 * </ul>
 */
public final class LoadGenerator {
  static final String LDS = "type.googleapis.com/envoy.config.listener.v3.Listener";
  static final String RDS = "type.googleapis.com/envoy.config.route.v3.RouteConfiguration";
  static final String CDS = "type.googleapis.com/envoy.config.cluster.v3.Cluster";
  static final String EDS = "type.googleapis.com/envoy.config.endpoint.v3.ClusterLoadAssignment";
  private static final String HCM = "type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3"
      + ".HttpConnectionManager";

  /** The change being watched for; replaced whole. */
  record Marker(int id, boolean add, String cluster, String host) {
    boolean covers(String clusterName) {
      return clusterName.equals(cluster) || clusterName.startsWith(cluster + "~");
    }
  }

  static final LongAdder BYTES = new LongAdder();
  static final LongAdder RESPONSES = new LongAdder();
  static volatile Marker marker;
  /** Set by the first ARM: from then on assignments of services not being watched for are not parsed. */
  static volatile boolean lean;

  private LoadGenerator() {}

  public static void main(String[] args) throws Exception {
    int port = intArg(args, "--xds-port", 18000);
    int streams = intArg(args, "--streams", 10);
    int envoy = intArg(args, "--envoy", 1);
    int deltaEvery = intArg(args, "--delta-every", 2);
    int watch = intArg(args, "--watch", 5);
    int services = intArg(args, "--services", 10);
    int perChannel = intArg(args, "--streams-per-channel", 50);

    List<ManagedChannel> channels = new ArrayList<>();
    List<AdsStream> all = new ArrayList<>();
    for (int s = 0; s < streams; s++) {
      if (s % perChannel == 0) {
        channels.add(NettyChannelBuilder.forAddress("127.0.0.1", port).usePlaintext().directExecutor()
            .maxInboundMessageSize(256 << 20).flowControlWindow(4 << 20).build());
      }
      boolean isEnvoy = s < envoy;
      int indexInKind = isEnvoy ? s : s - envoy;
      boolean delta = deltaEvery > 0 && indexInKind % deltaEvery == deltaEvery - 1;
      Set<String> watched = new TreeSet<>();
      if (!isEnvoy) {
        for (int j = 0; j < Math.min(watch, services); j++) {
          watched.add(Fleet.cluster((indexInKind * watch + j) % services));
        }
      }
      AdsStream stream = new AdsStream(s, isEnvoy, delta, watched);
      all.add(stream);
      stream.start(channels.get(channels.size() - 1));
    }
    System.out.println("STARTED " + streams);
    System.out.flush();

    BufferedReader in = new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8));
    String line;
    while ((line = in.readLine()) != null) {
      String[] w = line.trim().split(" ");
      switch (w[0]) {
        case "STATUS" -> {
          int ready = 0;
          int errors = 0;
          for (AdsStream stream : all) {
            ready += stream.ready() ? 1 : 0;
            errors += stream.failed ? 1 : 0;
          }
          long envoyEndpoints = envoy > 0 ? all.get(0).endpointsHeld() : -1;
          long proxylessEndpoints = streams > envoy ? all.get(envoy).endpointsHeld() : -1;
          System.out.println("STATUS ready=" + ready + " of=" + streams + " envoyEndpoints=" + envoyEndpoints
              + " proxylessEndpoints=" + proxylessEndpoints + " errors=" + errors);
        }
        case "ARM" -> {
          Marker next = new Marker(Integer.parseInt(w[1]), w[2].equals("add"), Fleet.cluster(Integer.parseInt(w[3])),
              w[4]);
          int affected = 0;
          for (AdsStream stream : all) {
            if (stream.arm(next)) {
              affected++;
            }
          }
          marker = next;
          lean = true;
          System.out.println("ARMED " + next.id() + " " + affected);
        }
        case "WAIT" -> {
          int id = Integer.parseInt(w[1]);
          long deadline = System.nanoTime() + Long.parseLong(w[2]) * 1_000_000L;
          int done;
          int affected;
          while (true) {
            done = 0;
            affected = 0;
            for (AdsStream stream : all) {
              if (stream.affected) {
                affected++;
                done += stream.doneAt.get() > 0 ? 1 : 0;
              }
            }
            if (done == affected || System.nanoTime() > deadline) {
              break;
            }
            Thread.sleep(2);
          }
          StringBuilder out = new StringBuilder("RESULT " + id + " " + done + " " + affected + " ");
          for (AdsStream stream : all) {
            if (stream.affected && stream.doneAt.get() > 0) {
              out.append(stream.kind()).append(':').append(stream.doneAt.get()).append(',');
            }
          }
          System.out.println(out);
        }
        case "BYTES" -> System.out.println("BYTES " + BYTES.sum() + " " + RESPONSES.sum());
        case "QUIT" -> {
          channels.forEach(ManagedChannel::shutdownNow);
          System.out.println("BYE");
          System.out.flush();
          System.exit(0);
        }
        default -> System.out.println("ERROR unknown command: " + line);
      }
      System.out.flush();
    }
    System.exit(0);
  }

  static long nowMicros() {
    Instant now = Instant.now();
    return now.getEpochSecond() * 1_000_000L + now.getNano() / 1_000;
  }

  /**
   * One ADS stream. Responses arrive on the channel's event loop (direct executor), one at a time per stream;
   * the stream's state is touched only there and, for {@link #arm}, under this object's lock.
   */
  static final class AdsStream {
    final int index;
    final boolean envoy;
    final boolean delta;
    final Set<String> watchedListeners;
    final Node node;
    volatile boolean failed;
    volatile boolean affected;
    final AtomicLong doneAt = new AtomicLong();
    // Guarded by this.
    private final Map<String, Listener> listeners = new HashMap<>();
    private final Map<String, RouteConfiguration> routes = new HashMap<>();
    private final Set<String> clusters = new HashSet<>(); // names only: nothing in a cluster is read
    private final Set<String> envoyRouteNames = new HashSet<>(); // Envoy-style: route configurations not parsed
    private final Map<String, Integer> endpointCounts = new HashMap<>();
    private final Map<String, Integer> parsedHash = new HashMap<>();
    private final Set<String> markerClusters = new HashSet<>();
    private final Map<String, Set<String>> subscribed = new HashMap<>();
    private final Map<String, String> versions = new HashMap<>();
    private final Map<String, String> nonces = new HashMap<>();
    private Marker armed;
    private StreamObserver<DiscoveryRequest> sotw;
    private StreamObserver<DeltaDiscoveryRequest> deltaRequests;
    private boolean nodeSent;

    AdsStream(int index, boolean envoy, boolean delta, Set<String> watchedListeners) {
      this.index = index;
      this.envoy = envoy;
      this.delta = delta;
      this.watchedListeners = watchedListeners;
      this.node = Node.newBuilder().setId("scale-" + index).setCluster("scale")
          .setUserAgentName(envoy ? "envoy" : "grpc-java").build();
    }

    String kind() {
      return (envoy ? "e" : "p") + (delta ? "d" : "s");
    }

    /** This stream's responses go to {@code onNext}; its end, with or without an error, to {@link #failed}. */
    private <T> StreamObserver<T> responses(java.util.function.Consumer<T> onNext) {
      return new StreamObserver<>() {
        @Override
        public void onNext(T response) {
          onNext.accept(response);
        }

        @Override
        public void onError(Throwable t) {
          failed(t);
        }

        @Override
        public void onCompleted() {
          failed(null);
        }
      };
    }

    synchronized void start(ManagedChannel channel) {
      AggregatedDiscoveryServiceGrpc.AggregatedDiscoveryServiceStub stub = AggregatedDiscoveryServiceGrpc.newStub(channel);
      if (delta) {
        deltaRequests = stub.deltaAggregatedResources(responses(this::onDelta));
      } else {
        sotw = stub.streamAggregatedResources(responses(this::onSotw));
      }
      if (envoy) {
        subscribe(LDS, null);
        subscribe(CDS, null);
      } else {
        subscribe(LDS, watchedListeners);
      }
    }

    private void failed(Throwable t) {
      failed = true;
      System.err.println("stream " + index + " ended: " + t);
    }

    /** Arms the marker; whether this stream watches the marker's service. */
    synchronized boolean arm(Marker next) {
      boolean watches = envoy || watchedListeners.contains(next.cluster());
      if (armed == null || !armed.host().equals(next.host()) || !armed.cluster().equals(next.cluster())) {
        markerClusters.clear();
      }
      armed = next;
      doneAt.set(0);
      affected = watches;
      return watches;
    }

    /**
     * Whether the stream holds LDS, RDS, CDS and every assignment of its clusters. Read without the lock (a
     * STATUS must not wait behind a stream parsing a large response on a busy machine); set after each response.
     */
    boolean ready() {
      return ready;
    }

    long endpointsHeld() {
      return endpointsHeld;
    }

    private volatile boolean ready;
    private volatile long endpointsHeld;

    /** Lock held. */
    private void updateStatus() {
      ready = versions.containsKey(LDS) && versions.containsKey(RDS) && versions.containsKey(CDS)
          && versions.containsKey(EDS) && endpointCounts.keySet().containsAll(clusters);
      endpointsHeld = endpointCounts.values().stream().mapToLong(Integer::longValue).sum();
    }

    // --- state of the world ---

    private synchronized void onSotw(DiscoveryResponse response) {
      BYTES.add(response.getSerializedSize());
      RESPONSES.increment();
      String type = response.getTypeUrl();
      versions.put(type, response.getVersionInfo());
      nonces.put(type, response.getNonce());
      send(type); // ACK
      Map<String, Any> resources = new HashMap<>();
      for (Any any : response.getResourcesList()) {
        // EDS: named when parsed; the others by their name field (1 in Listener, RouteConfiguration, Cluster)
        resources.put(type.equals(EDS) ? "" + resources.size() : nameOf(any), any);
      }
      // State of the world: LDS and CDS responses are complete; RDS and EDS ones may carry only some of the
      // requested resources (protomatch sends only the assignments a stream does not hold), the rest are kept.
      apply(type, resources, type.equals(LDS) || type.equals(CDS), List.of());
    }

    // --- delta ---

    private synchronized void onDelta(DeltaDiscoveryResponse response) {
      BYTES.add(response.getSerializedSize());
      RESPONSES.increment();
      String type = response.getTypeUrl();
      versions.put(type, response.getSystemVersionInfo());
      deltaRequests.onNext(DeltaDiscoveryRequest.newBuilder().setTypeUrl(type).setResponseNonce(response.getNonce())
          .build());
      Map<String, Any> resources = new HashMap<>();
      for (Resource resource : response.getResourcesList()) {
        resources.put(resource.getName(), resource.getResource());
      }
      apply(type, resources, false, response.getRemovedResourcesList());
    }

    /**
     * Takes in a response's resources and follows them with subscriptions. Lock held. A proxyless stream, like
     * grpc-java's client, ignores listeners and clusters it did not ask for: java-control-plane 1.0.49 serves
     * delta LDS and CDS as wildcard whatever the stream subscribed to, so a delta stream is sent every one.
     */
    private void apply(String type, Map<String, Any> resources, boolean whole, List<String> removed) {
      if (!envoy && (type.equals(LDS) || type.equals(CDS)) && subscribed.get(type) != null) {
        resources.keySet().retainAll(subscribed.get(type));
      }
      try {
        switch (type) {
          case LDS -> {
            merge(listeners, resources, whole, removed, Listener.class);
            Set<String> names = new TreeSet<>();
            for (Listener listener : listeners.values()) {
              names.addAll(routeConfigNames(listener));
            }
            subscribe(RDS, names);
          }
          case RDS -> {
            if (envoy) {
              mergeNames(envoyRouteNames, resources, whole, removed); // an Envoy-style stream follows no route
            } else {
              merge(routes, resources, whole, removed, RouteConfiguration.class);
              if (subscribed.get(RDS) != null) {
                routes.keySet().retainAll(subscribed.get(RDS)); // a client drops what it no longer asks for
              }
              Set<String> names = new TreeSet<>();
              for (RouteConfiguration config : routes.values()) {
                for (VirtualHost host : config.getVirtualHostsList()) {
                  for (Route route : host.getRoutesList()) {
                    if (route.hasRoute() && !route.getRoute().getCluster().isEmpty()) {
                      names.add(route.getRoute().getCluster());
                    }
                  }
                }
              }
              subscribe(CDS, names);
            }
          }
          case CDS -> {
            mergeNames(clusters, resources, whole, removed);
            subscribe(EDS, new TreeSet<>(clusters));
          }
          case EDS -> {
            removed.forEach(endpointCounts::remove);
            removed.forEach(markerClusters::remove);
            for (Map.Entry<String, Any> entry : resources.entrySet()) {
              // Once changes are being timed, only the changed service's assignments (and new ones) are parsed
              // whole: a SotW Envoy-style stream receives every assignment of the fleet with each change.
              // Before that, an assignment whose bytes are those last parsed for its name is not parsed again.
              com.google.protobuf.ByteString bytes = entry.getValue().getValue();
              String name = clusterNameOf(bytes);
              Integer lastHash = name == null ? null : parsedHash.get(name);
              if (name != null && endpointCounts.containsKey(name) && (armed == null || !armed.covers(name))
                  && (lean || lastHash != null && lastHash == bytes.hashCode())) {
                continue;
              }
              if (name != null) {
                parsedHash.put(name, bytes.hashCode());
              }
              ClusterLoadAssignment assignment = entry.getValue().unpack(ClusterLoadAssignment.class);
              name = assignment.getClusterName();
              int count = 0;
              boolean holdsMarker = false;
              for (LocalityLbEndpoints locality : assignment.getEndpointsList()) {
                count += locality.getLbEndpointsCount();
                if (armed != null && armed.covers(name)) {
                  for (LbEndpoint endpoint : locality.getLbEndpointsList()) {
                    if (endpoint.getEndpoint().getAddress().getSocketAddress().getAddress().equals(armed.host())) {
                      holdsMarker = true;
                    }
                  }
                }
              }
              endpointCounts.put(name, count);
              if (holdsMarker) {
                markerClusters.add(name);
              } else {
                markerClusters.remove(name);
              }
            }
            Set<String> wanted = subscribed.get(EDS);
            if (wanted != null) { // a client drops what it no longer asks for
              endpointCounts.keySet().retainAll(wanted);
              markerClusters.retainAll(wanted);
            }
            if (affected && armed != null && doneAt.get() == 0
                && (armed.add() ? !markerClusters.isEmpty() : markerClusters.isEmpty())) {
              doneAt.set(nowMicros());
            }
          }
          default -> { }
        }
      } catch (InvalidProtocolBufferException e) {
        System.err.println("stream " + index + ": cannot parse a " + type + " resource: " + e.getMessage());
      }
      updateStatus();
    }

    private <T extends com.google.protobuf.Message> void merge(Map<String, T> held, Map<String, Any> resources,
        boolean whole, List<String> removed, Class<T> kind) throws InvalidProtocolBufferException {
      if (whole) {
        held.clear();
      }
      removed.forEach(held::remove);
      for (Map.Entry<String, Any> entry : resources.entrySet()) {
        held.put(entry.getKey(), entry.getValue().unpack(kind));
      }
    }

    private static void mergeNames(Set<String> held, Map<String, Any> resources, boolean whole, List<String> removed) {
      if (whole) {
        held.clear();
      }
      removed.forEach(held::remove);
      held.addAll(resources.keySet());
    }

    /** Sets the names subscribed for {@code type} ({@code null}: wildcard) and tells the server if they changed. */
    private void subscribe(String type, Set<String> names) {
      Set<String> previous = subscribed.get(type);
      if (subscribed.containsKey(type) && java.util.Objects.equals(previous, names)) {
        return;
      }
      subscribed.put(type, names);
      if (delta) {
        DeltaDiscoveryRequest.Builder request = DeltaDiscoveryRequest.newBuilder().setTypeUrl(type);
        if (!nodeSent) {
          request.setNode(node);
          nodeSent = true;
        }
        if (names != null) {
          Set<String> added = new TreeSet<>(names);
          if (previous != null) {
            added.removeAll(previous);
            Set<String> gone = new TreeSet<>(previous);
            gone.removeAll(names);
            request.addAllResourceNamesUnsubscribe(gone);
          }
          request.addAllResourceNamesSubscribe(added);
        }
        deltaRequests.onNext(request.build());
      } else {
        send(type);
      }
    }

    /** A SotW request for {@code type} with the version and nonce last received (an ACK or a new subscription). */
    private void send(String type) {
      DiscoveryRequest.Builder request = DiscoveryRequest.newBuilder().setTypeUrl(type)
          .setVersionInfo(versions.getOrDefault(type, "")).setResponseNonce(nonces.getOrDefault(type, ""));
      Set<String> names = subscribed.get(type);
      if (names != null) {
        request.addAllResourceNames(names);
      }
      if (!nodeSent) {
        request.setNode(node);
        nodeSent = true;
      }
      sotw.onNext(request.build());
    }

    /** Field 1 (cluster_name) of a serialized ClusterLoadAssignment, without parsing the rest. */
    private static String clusterNameOf(com.google.protobuf.ByteString bytes) throws InvalidProtocolBufferException {
      try {
        com.google.protobuf.CodedInputStream in = bytes.newCodedInput();
        int tag;
        while ((tag = in.readTag()) != 0) {
          if (tag == ((1 << 3) | 2)) {
            return in.readStringRequireUtf8();
          }
          in.skipField(tag);
        }
        return "";
      } catch (InvalidProtocolBufferException e) {
        throw e;
      } catch (java.io.IOException e) {
        throw new InvalidProtocolBufferException(e);
      }
    }

    /** The name (field 1) of a Listener, RouteConfiguration or Cluster, read without parsing the rest. */
    private static String nameOf(Any any) {
      try {
        String name = clusterNameOf(any.getValue());
        return name == null ? "" : name;
      } catch (InvalidProtocolBufferException e) {
        return "";
      }
    }

    private static Set<String> routeConfigNames(Listener listener) throws InvalidProtocolBufferException {
      Set<String> names = new TreeSet<>();
      List<Any> managers = new ArrayList<>();
      if (listener.hasApiListener()) {
        managers.add(listener.getApiListener().getApiListener());
      }
      for (FilterChain chain : listener.getFilterChainsList()) {
        for (Filter filter : chain.getFiltersList()) {
          if (filter.hasTypedConfig()) {
            managers.add(filter.getTypedConfig());
          }
        }
      }
      for (Any any : managers) {
        if (any.getTypeUrl().equals(HCM)) {
          HttpConnectionManager hcm = any.unpack(HttpConnectionManager.class);
          if (hcm.hasRds()) {
            names.add(hcm.getRds().getRouteConfigName());
          }
        }
      }
      return names;
    }
  }

  static int intArg(String[] args, String name, int fallback) {
    for (int i = 0; i < args.length - 1; i++) {
      if (args[i].equals(name)) {
        return Integer.parseInt(args[i + 1]);
      }
    }
    return fallback;
  }
}
