package dev.protomatch.it;

import com.google.protobuf.Any;
import com.google.protobuf.InvalidProtocolBufferException;
import com.google.rpc.Code;
import io.envoyproxy.envoy.config.cluster.v3.Cluster;
import io.envoyproxy.envoy.config.core.v3.Node;
import io.envoyproxy.envoy.config.endpoint.v3.ClusterLoadAssignment;
import io.envoyproxy.envoy.config.endpoint.v3.LbEndpoint;
import io.envoyproxy.envoy.config.endpoint.v3.LocalityLbEndpoints;
import io.envoyproxy.envoy.service.discovery.v3.AggregatedDiscoveryServiceGrpc;
import io.envoyproxy.envoy.service.discovery.v3.DeltaDiscoveryRequest;
import io.envoyproxy.envoy.service.discovery.v3.DeltaDiscoveryResponse;
import io.envoyproxy.envoy.service.discovery.v3.DiscoveryRequest;
import io.envoyproxy.envoy.service.discovery.v3.DiscoveryResponse;
import io.envoyproxy.envoy.service.discovery.v3.Resource;
import io.grpc.Grpc;
import io.grpc.InsecureChannelCredentials;
import io.grpc.ManagedChannel;
import io.grpc.stub.StreamObserver;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

/**
 * A deliberately small ADS client speaking the raw xDS protocol over grpc-java stubs, either state of the
 * world ({@code StreamAggregatedResources}) or incremental ({@code DeltaAggregatedResources}), so tests see
 * exactly what protomatch sends on each variant.
 *
 * <p>It subscribes to clusters (by name, or all of them), follows every cluster it gets to its
 * ClusterLoadAssignment (EDS over the same stream), ACKs every response, and keeps the latest assignment
 * per cluster. On request it NACKs the next response of a type instead, with an {@code error_detail} of
 * code INVALID_ARGUMENT and the test's message; a NACKed response is not applied. The node is sent on
 * every request, as Envoy does by default.
 *
 * <p>All state is guarded by the instance lock; requests are written under it too, so writes to the stream
 * never interleave.
 */
public final class AdsClient implements AutoCloseable {
  public static final String CLUSTER_TYPE = "type.googleapis.com/envoy.config.cluster.v3.Cluster";
  public static final String ENDPOINT_TYPE = "type.googleapis.com/envoy.config.endpoint.v3.ClusterLoadAssignment";

  /** The two ADS variants. */
  public enum Mode {
    SOTW,
    DELTA
  }

  /**
   * A NACK this client sent: the type, the nonce and version of the rejected response (SotW
   * {@code version_info}, delta {@code system_version_info}) and the error text.
   */
  public record SentNack(String typeUrl, String nonce, String rejectedVersion, String message) {}

  private final Mode mode;
  private final Node node;
  private final List<String> clusterNames;
  private final ManagedChannel channel;

  // Guarded by this.
  private StreamObserver<DiscoveryRequest> sotwRequests;
  private StreamObserver<DeltaDiscoveryRequest> deltaRequests;
  private final Map<String, Cluster> clusters = new TreeMap<>();
  private final Map<String, ClusterLoadAssignment> assignments = new TreeMap<>();
  private final Set<String> edsNames = new TreeSet<>();
  private final Map<String, String> acceptedVersion = new HashMap<>(); // SotW: last ACKed version_info per type
  private final Map<String, String> lastNonce = new HashMap<>();       // SotW: nonce of the last response per type
  private final Map<String, PendingNack> pendingNacks = new HashMap<>();
  private final List<SentNack> sentNacks = new ArrayList<>();
  private final Map<String, Integer> responseCounts = new HashMap<>();
  private Throwable streamError;
  private boolean closed;

  private record PendingNack(String message, CompletableFuture<SentNack> sent) {}

  private AdsClient(Mode mode, ManagedChannel channel, Node node, List<String> clusterNames) {
    this.mode = mode;
    this.channel = channel;
    this.node = node;
    this.clusterNames = List.copyOf(clusterNames);
  }

  /** A node as a non-Envoy (proxyless) client would send it. */
  public static Node node(String id, String userAgentName) {
    return Node.newBuilder().setId(id).setCluster("protomatch-it").setUserAgentName(userAgentName).build();
  }

  /** Connects to ADS on 127.0.0.1:{@code xdsPort} and subscribes to every cluster (wildcard). */
  public static AdsClient connect(Mode mode, int xdsPort, Node node) {
    return connect(mode, xdsPort, node, List.of(), Map.of());
  }

  /**
   * Connects and subscribes.
   *
   * @param clusterNames the clusters to subscribe to; empty for all (wildcard)
   * @param nackFirst per type URL, a message to NACK that type's first response with (set before the
   *     stream opens, so even the very first response is rejected)
   */
  public static AdsClient connect(Mode mode, int xdsPort, Node node, List<String> clusterNames,
                                  Map<String, String> nackFirst) {
    ManagedChannel channel = Grpc.newChannelBuilderForAddress("127.0.0.1", xdsPort, InsecureChannelCredentials.create())
        .build();
    AdsClient client = new AdsClient(mode, channel, node, clusterNames);
    nackFirst.forEach(client::nackNext);
    client.start();
    return client;
  }

  private synchronized void start() {
    AggregatedDiscoveryServiceGrpc.AggregatedDiscoveryServiceStub stub = AggregatedDiscoveryServiceGrpc.newStub(channel);
    if (mode == Mode.SOTW) {
      sotwRequests = stub.streamAggregatedResources(new StreamObserver<>() {
        @Override
        public void onNext(DiscoveryResponse response) {
          onSotwResponse(response);
        }

        @Override
        public void onError(Throwable t) {
          onStreamError(t);
        }

        @Override
        public void onCompleted() {
          onStreamError(new IllegalStateException("server completed the ADS stream"));
        }
      });
      sendSotw(CLUSTER_TYPE, clusterNames, null);
    } else {
      deltaRequests = stub.deltaAggregatedResources(new StreamObserver<>() {
        @Override
        public void onNext(DeltaDiscoveryResponse response) {
          onDeltaResponse(response);
        }

        @Override
        public void onError(Throwable t) {
          onStreamError(t);
        }

        @Override
        public void onCompleted() {
          onStreamError(new IllegalStateException("server completed the ADS stream"));
        }
      });
      deltaRequests.onNext(DeltaDiscoveryRequest.newBuilder().setNode(node).setTypeUrl(CLUSTER_TYPE)
          .addAllResourceNamesSubscribe(clusterNames).build());
    }
  }

  /**
   * Rejects the next response of {@code typeUrl} with {@code error_detail} {code: INVALID_ARGUMENT,
   * message}; the returned future completes once the NACK is on the wire.
   */
  public synchronized CompletableFuture<SentNack> nackNext(String typeUrl, String message) {
    PendingNack pending = new PendingNack(message, new CompletableFuture<>());
    pendingNacks.put(typeUrl, pending);
    return pending.sent();
  }

  // ---- state of the world

  private synchronized void onSotwResponse(DiscoveryResponse response) {
    if (closed) {
      return;
    }
    String type = response.getTypeUrl();
    responseCounts.merge(type, 1, Integer::sum);
    lastNonce.put(type, response.getNonce());
    if (nackIfRequested(type, response.getNonce(), response.getVersionInfo())) {
      return;
    }
    try {
      if (type.equals(CLUSTER_TYPE)) {
        Map<String, Cluster> received = new TreeMap<>();
        for (Any any : response.getResourcesList()) {
          Cluster cluster = any.unpack(Cluster.class);
          received.put(cluster.getName(), cluster);
        }
        // State of the world: a cluster missing from a CDS response no longer exists.
        clusters.clear();
        clusters.putAll(received);
        acceptedVersion.put(type, response.getVersionInfo());
        sendSotw(CLUSTER_TYPE, clusterNames, null);
        updateEdsSubscription();
      } else if (type.equals(ENDPOINT_TYPE)) {
        for (Any any : response.getResourcesList()) {
          ClusterLoadAssignment assignment = any.unpack(ClusterLoadAssignment.class);
          if (edsNames.contains(assignment.getClusterName())) {
            assignments.put(assignment.getClusterName(), assignment);
          }
        }
        acceptedVersion.put(type, response.getVersionInfo());
        sendSotw(ENDPOINT_TYPE, List.copyOf(edsNames), null);
      } else {
        // Not subscribed to; ACK so the server does not wait on it.
        acceptedVersion.put(type, response.getVersionInfo());
        sendSotw(type, List.of(), null);
      }
    } catch (InvalidProtocolBufferException e) {
      throw new IllegalStateException("unexpected resource in " + type + " response", e);
    }
  }

  /** One SotW request: the current subscription, the last accepted version and the latest nonce of the type. */
  private void sendSotw(String type, List<String> names, com.google.rpc.Status error) {
    DiscoveryRequest.Builder request = DiscoveryRequest.newBuilder()
        .setNode(node)
        .setTypeUrl(type)
        .addAllResourceNames(names)
        .setVersionInfo(acceptedVersion.getOrDefault(type, ""))
        .setResponseNonce(lastNonce.getOrDefault(type, ""));
    if (error != null) {
      request.setErrorDetail(error);
    }
    sotwRequests.onNext(request.build());
  }

  // ---- incremental

  private synchronized void onDeltaResponse(DeltaDiscoveryResponse response) {
    if (closed) {
      return;
    }
    String type = response.getTypeUrl();
    responseCounts.merge(type, 1, Integer::sum);
    if (nackIfRequested(type, response.getNonce(), response.getSystemVersionInfo())) {
      return;
    }
    try {
      if (type.equals(CLUSTER_TYPE)) {
        for (Resource resource : response.getResourcesList()) {
          Cluster cluster = resource.getResource().unpack(Cluster.class);
          clusters.put(cluster.getName(), cluster);
        }
        response.getRemovedResourcesList().forEach(clusters::remove);
        ackDelta(type, response.getNonce());
        updateEdsSubscription();
      } else if (type.equals(ENDPOINT_TYPE)) {
        for (Resource resource : response.getResourcesList()) {
          ClusterLoadAssignment assignment = resource.getResource().unpack(ClusterLoadAssignment.class);
          if (edsNames.contains(assignment.getClusterName())) {
            assignments.put(assignment.getClusterName(), assignment);
          }
        }
        response.getRemovedResourcesList().forEach(assignments::remove);
        ackDelta(type, response.getNonce());
      } else {
        ackDelta(type, response.getNonce());
      }
    } catch (InvalidProtocolBufferException e) {
      throw new IllegalStateException("unexpected resource in " + type + " response", e);
    }
  }

  private void ackDelta(String type, String nonce) {
    deltaRequests.onNext(DeltaDiscoveryRequest.newBuilder().setNode(node).setTypeUrl(type).setResponseNonce(nonce)
        .build());
  }

  // ---- shared

  /** Subscribes EDS to the assignments of the clusters now known, and drops what no cluster refers to. */
  private void updateEdsSubscription() {
    Set<String> wanted = new TreeSet<>();
    clusters.values().forEach(cluster -> wanted.add(edsName(cluster)));
    if (wanted.equals(edsNames)) {
      return;
    }
    Set<String> added = new LinkedHashSet<>(wanted);
    added.removeAll(edsNames);
    Set<String> removed = new LinkedHashSet<>(edsNames);
    removed.removeAll(wanted);
    edsNames.clear();
    edsNames.addAll(wanted);
    assignments.keySet().retainAll(wanted);
    if (mode == Mode.SOTW) {
      sendSotw(ENDPOINT_TYPE, List.copyOf(edsNames), null);
    } else {
      deltaRequests.onNext(DeltaDiscoveryRequest.newBuilder().setNode(node).setTypeUrl(ENDPOINT_TYPE)
          .addAllResourceNamesSubscribe(added).addAllResourceNamesUnsubscribe(removed).build());
    }
  }

  private static String edsName(Cluster cluster) {
    String serviceName = cluster.getEdsClusterConfig().getServiceName();
    return serviceName.isEmpty() ? cluster.getName() : serviceName;
  }

  /** Sends the NACK requested for this type, if any; the response is then not applied. */
  private boolean nackIfRequested(String type, String nonce, String version) {
    PendingNack pending = pendingNacks.remove(type);
    if (pending == null) {
      return false;
    }
    com.google.rpc.Status error = com.google.rpc.Status.newBuilder()
        .setCode(Code.INVALID_ARGUMENT_VALUE).setMessage(pending.message()).build();
    if (mode == Mode.SOTW) {
      List<String> names = type.equals(ENDPOINT_TYPE) ? List.copyOf(edsNames)
          : type.equals(CLUSTER_TYPE) ? clusterNames : List.of();
      sendSotw(type, names, error); // version_info stays the last accepted one
    } else {
      deltaRequests.onNext(DeltaDiscoveryRequest.newBuilder().setNode(node).setTypeUrl(type).setResponseNonce(nonce)
          .setErrorDetail(error).build());
    }
    SentNack sent = new SentNack(type, nonce, version, pending.message());
    sentNacks.add(sent);
    pending.sent().complete(sent);
    return true;
  }

  private synchronized void onStreamError(Throwable t) {
    if (!closed) {
      streamError = t;
    }
  }

  // ---- accessors

  public Mode mode() {
    return mode;
  }

  public String nodeId() {
    return node.getId();
  }

  /** Per cluster known from CDS, its current endpoints as "host:port" (empty until its assignment arrived). */
  public synchronized Map<String, Set<String>> endpointsByCluster() {
    Map<String, Set<String>> view = new TreeMap<>();
    for (String cluster : clusters.keySet()) {
      ClusterLoadAssignment assignment = assignments.get(edsName(clusters.get(cluster)));
      view.put(cluster, assignment == null ? Set.of() : addresses(assignment));
    }
    return view;
  }

  /** The current endpoints of one cluster, empty if unknown. */
  public synchronized Set<String> endpoints(String cluster) {
    return endpointsByCluster().getOrDefault(cluster, Set.of());
  }

  /** Whether every known cluster has received its assignment. */
  public synchronized boolean hasAllAssignments() {
    return !clusters.isEmpty() && clusters.values().stream().allMatch(c -> assignments.containsKey(edsName(c)));
  }

  public synchronized Set<String> clusterNames() {
    return Set.copyOf(clusters.keySet());
  }

  public synchronized int responses(String typeUrl) {
    return responseCounts.getOrDefault(typeUrl, 0);
  }

  public synchronized List<SentNack> sentNacks() {
    return List.copyOf(sentNacks);
  }

  /** Why the stream ended, if it did before {@link #close()}. */
  public synchronized Optional<Throwable> streamError() {
    return Optional.ofNullable(streamError);
  }

  private static Set<String> addresses(ClusterLoadAssignment assignment) {
    Set<String> addresses = new TreeSet<>();
    for (LocalityLbEndpoints locality : assignment.getEndpointsList()) {
      for (LbEndpoint endpoint : locality.getLbEndpointsList()) {
        var socket = endpoint.getEndpoint().getAddress().getSocketAddress();
        addresses.add(socket.getAddress() + ":" + socket.getPortValue());
      }
    }
    return Set.copyOf(addresses);
  }

  @Override
  public String toString() {
    return "AdsClient[" + mode + " " + node.getId() + "]";
  }

  /** Half-closes the stream (the server sees a clean end of stream) and shuts the channel down. */
  @Override
  public void close() {
    synchronized (this) {
      if (closed) {
        return;
      }
      closed = true;
      try {
        if (sotwRequests != null) {
          sotwRequests.onCompleted();
        }
        if (deltaRequests != null) {
          deltaRequests.onCompleted();
        }
      } catch (RuntimeException ignored) {
        // the stream already failed; nothing to end
      }
    }
    channel.shutdown();
    try {
      if (!channel.awaitTermination(5, TimeUnit.SECONDS)) {
        channel.shutdownNow();
      }
    } catch (InterruptedException e) {
      channel.shutdownNow();
      Thread.currentThread().interrupt();
    }
  }
}
