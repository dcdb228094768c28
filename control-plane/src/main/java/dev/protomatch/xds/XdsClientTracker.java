package dev.protomatch.xds;

import dev.protomatch.util.ClientText;
import dev.protomatch.util.Listeners;
import com.google.rpc.Status;
import io.envoyproxy.controlplane.server.DiscoveryServerCallbacks;
import io.envoyproxy.envoy.config.core.v3.Node;
import io.envoyproxy.envoy.service.discovery.v3.DeltaDiscoveryRequest;
import io.envoyproxy.envoy.service.discovery.v3.DeltaDiscoveryResponse;
import io.envoyproxy.envoy.service.discovery.v3.DiscoveryRequest;
import io.envoyproxy.envoy.service.discovery.v3.DiscoveryResponse;
import io.envoyproxy.envoy.service.discovery.v3.Resource;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.Consumer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Follows every xDS stream through java-control-plane's callbacks: who the client is, what it was sent,
 * what it acknowledged, and what it rejected. Every NACK is recorded and announced to the NACK listeners;
 * it is logged once per client (node id), type and rejected version, with the client's own error text, however
 * often the client repeats it (and on whichever stream). A NACK changes nothing for other clients (each stream
 * has its own watches).
 *
 * <p>Told of each {@linkplain #published publication}, it also knows how long a client took to accept a
 * version: from the moment the version was both published and asked for on the stream (a client that
 * connects later is not charged for the time before it asked) to the ACK.
 */
public final class XdsClientTracker implements DiscoveryServerCallbacks, ClientAcks {
  private static final Logger log = LoggerFactory.getLogger(XdsClientTracker.class);

  private final Clock clock;
  private final Map<Long, Stream> streams = new ConcurrentHashMap<>();
  private final Listeners<NackEvent> nackListeners = new Listeners<>("NACK");
  private final Listeners<AckEvent> ackListeners = new Listeners<>("ACK");
  private final Listeners<Void> holdingListeners = new Listeners<>("ACK (holding)");
  /** When each recent version was published, by node group and type URL; older versions are forgotten. */
  private final Map<PublishedType, Map<String, Instant>> publishedAt = new ConcurrentHashMap<>();
  private static final int VERSIONS_REMEMBERED = 32;
  /**
   * Delta: the types whose names a stream holds are kept for ({@link #allHoldClusters} asks about clusters and
   * their assignments only, and only those a stream subscribes to); a delta client is sent every listener and
   * cluster, so keeping them all would cost a set of thousands of names per stream.
   */
  private static final java.util.Set<String> HELD_TYPES = java.util.Set.of(XdsType.CDS.typeUrl(), XdsType.EDS.typeUrl());
  private static final int NACKS_LOGGED_REMEMBERED = 4096;
  private static final Runnable NOTHING = () -> { };
  /** The (node, type, version) NACKs already logged, oldest forgotten first. Guarded by itself. */
  private final Map<NackKey, Boolean> nacksLogged = new java.util.LinkedHashMap<>() {
    @Override
    protected boolean removeEldestEntry(Map.Entry<NackKey, Boolean> eldest) {
      return size() > NACKS_LOGGED_REMEMBERED;
    }
  };

  /**
   * A client accepted a version of a type that it had not accepted before on this stream.
   *
   * @param latency from the moment the version was both published and asked for on this stream to the ACK;
   *     empty when neither the publication nor the response carrying the version is known
   */
  public record AckEvent(String nodeId, NodeKind kind, String typeUrl, String version, Optional<Duration> latency) {}

  /** A client rejected a version of a type. */
  public record NackEvent(String nodeId, NodeKind kind, String typeUrl, XdsClientStatus.Nack nack) {}

  private record PublishedType(String group, String typeUrl) {}

  /**
   * One response sent on a stream.
   *
   * @param names state of the world: the resource names of the request it answered (empty: wildcard, all of the
   *     type); delta: the names of the resources it carried
   * @param removed delta: the names it removed; state of the world: none
   */
  private record Sent(String version, Instant at, List<String> names, List<String> removed) {}

  private record NackKey(String nodeId, String typeUrl, String version) {}

  public XdsClientTracker(Clock clock) {
    this.clock = clock;
  }

  private static final class Stream {
    final long id;
    final Instant openedAt;
    volatile Node node = Node.getDefaultInstance();
    volatile String protocol = "sotw";
    final Map<String, String> sent = new HashMap<>();
    final Map<String, String> acked = new HashMap<>();
    final Map<String, XdsClientStatus.Nack> nacks = new HashMap<>();
    /** Versions sent, by response nonce: a NACK names the nonce it rejects, not the version. */
    final Map<String, Sent> sentByNonce = new HashMap<>();
    /** When the client first asked for each type on this stream. */
    final Map<String, Instant> firstRequested = new HashMap<>();
    /** The resource names of the stream's latest request, per type (empty: wildcard). State of the world. */
    final Map<String, List<String>> requestedNames = new HashMap<>();
    /**
     * State of the world: the names the response the client last ACKed answered, per type (empty: wildcard);
     * absent when that response is not known.
     */
    final Map<String, List<String>> ackedNames = new HashMap<>();
    /** Delta: the names subscribed to, per type, and the types subscribed to as a wildcard. */
    final Map<String, java.util.Set<String>> subscribed = new HashMap<>();
    final java.util.Set<String> wildcard = new java.util.HashSet<>();
    /** Delta: the names of the resources the client holds by its ACKs, per type. */
    final Map<String, java.util.Set<String>> held = new HashMap<>();

    void sent(String typeUrl, String nonce, Sent response) {
      this.sent.put(typeUrl, response.version());
      if (sentByNonce.size() >= 64) {
        sentByNonce.clear(); // nonces are answered promptly; old ones are never referred to again
      }
      sentByNonce.put(nonce, response);
    }

    /** Whether the client asks for {@code name} of the type (by name or as a wildcard). */
    boolean subscribes(String typeUrl, String name) {
      if (protocol.equals("delta")) {
        return wildcard.contains(typeUrl) || subscribed.getOrDefault(typeUrl, java.util.Set.of()).contains(name);
      }
      List<String> requested = requestedNames.get(typeUrl);
      return requested != null && (requested.isEmpty() || requested.contains(name));
    }

    /**
     * Whether the client ACKed all of {@code names}: state of the world, in a response of {@code version};
     * delta, in any response (a name's content changes, never what the name stands for).
     */
    boolean holds(String typeUrl, java.util.Set<String> names, String version) {
      if (protocol.equals("delta")) {
        return held.getOrDefault(typeUrl, java.util.Set.of()).containsAll(names);
      }
      List<String> acked = ackedNames.get(typeUrl);
      return version.equals(this.acked.get(typeUrl)) && acked != null
          && (acked.isEmpty() || acked.containsAll(names));
    }

    /** Delta: applies a request's subscription changes. */
    void subscriptionChanged(DeltaDiscoveryRequest request) {
      String typeUrl = request.getTypeUrl();
      java.util.Set<String> names = subscribed.computeIfAbsent(typeUrl, t -> new java.util.HashSet<>());
      if (!firstRequested.containsKey(typeUrl) && request.getResourceNamesSubscribeCount() == 0) {
        wildcard.add(typeUrl); // a first request naming nothing is a wildcard subscription
      }
      for (String name : request.getResourceNamesSubscribeList()) {
        if (name.equals("*")) {
          wildcard.add(typeUrl);
        } else {
          names.add(name);
        }
      }
      for (String name : request.getResourceNamesUnsubscribeList()) {
        if (name.equals("*")) {
          wildcard.remove(typeUrl);
        } else {
          names.remove(name);
        }
      }
      // A reconnecting client holds what it names here (a name always stands for the same builds).
      if (HELD_TYPES.contains(typeUrl)) {
        held.computeIfAbsent(typeUrl, t -> new java.util.HashSet<>())
            .addAll(request.getInitialResourceVersionsMap().keySet());
      }
    }

    String versionSentWith(String nonce) {
      Sent sent = sentByNonce.get(nonce);
      return sent == null ? "" : sent.version();
    }

    Stream(long id, Instant openedAt) {
      this.id = id;
      this.openedAt = openedAt;
    }

    synchronized XdsClientStatus status() {
      Map<String, XdsClientStatus.TypeStatus> types = new HashMap<>();
      java.util.Set<String> typeUrls = new java.util.TreeSet<>(sent.keySet());
      typeUrls.addAll(acked.keySet());
      typeUrls.addAll(nacks.keySet());
      for (String type : typeUrls) {
        types.put(type, new XdsClientStatus.TypeStatus(sent.getOrDefault(type, ""), acked.getOrDefault(type, ""),
            Optional.ofNullable(nacks.get(type))));
      }
      return new XdsClientStatus(id, nodeField(node.getId()), nodeField(node.getCluster()),
          nodeField(node.getUserAgentName()), protocol, openedAt, types);
    }
  }

  /** Called with each NACK, on the stream's thread. */
  public void addNackListener(Consumer<NackEvent> listener) {
    nackListeners.add(listener);
  }

  /** Called with each ACK of a version new to its stream, on the stream's thread. */
  public void addAckListener(Consumer<AckEvent> listener) {
    ackListeners.add(listener);
  }

  /**
   * Called after every ACK, on the stream's thread, including an ACK of a version the stream already had for
   * names it newly asked for (what {@link #allHoldClusters} answers may have changed).
   */
  public void addHoldingListener(Runnable listener) {
    holdingListeners.add(listener);
  }

  /** Records when the publication's new versions were published, for ACK latencies. */
  public void published(SnapshotPublisher.Publication publication) {
    Instant now = clock.instant();
    publication.changed().forEach((type, version) -> {
      Map<String, Instant> versions = publishedAt.computeIfAbsent(
          new PublishedType(publication.kind().group(), type.typeUrl()), key -> new java.util.LinkedHashMap<>() {
            @Override
            protected boolean removeEldestEntry(Map.Entry<String, Instant> eldest) {
              return size() > VERSIONS_REMEMBERED;
            }
          });
      synchronized (versions) {
        versions.put(version, now);
      }
    });
  }

  /**
   * Whether every open stream of {@code kind} that was sent {@code typeUrl} has acknowledged one of
   * {@code versions} (true when no such stream is open).
   */
  @Override
  public boolean allAcked(NodeKind kind, XdsType type, java.util.Set<String> versions) {
    String typeUrl = type.typeUrl();
    for (Stream stream : streams.values()) {
      if (NodeKind.of(stream.node) != kind) {
        continue;
      }
      synchronized (stream) {
        if (stream.sent.containsKey(typeUrl) && !versions.contains(stream.acked.get(typeUrl))) {
          return false;
        }
      }
    }
    return true;
  }

  @Override
  public boolean allHoldClusters(NodeKind kind, java.util.Set<String> clusters, String clustersVersion,
                                 String endpointsVersion) {
    String cds = XdsType.CDS.typeUrl();
    String eds = XdsType.EDS.typeUrl();
    for (Stream stream : streams.values()) {
      if (NodeKind.of(stream.node) != kind) {
        continue;
      }
      synchronized (stream) {
        java.util.Set<String> wanted = new java.util.HashSet<>();
        for (String cluster : clusters) {
          if (stream.subscribes(cds, cluster)) {
            wanted.add(cluster);
          }
        }
        if (wanted.isEmpty()) {
          continue;
        }
        if (!stream.holds(cds, wanted, clustersVersion)
            || stream.firstRequested.containsKey(eds) && !stream.holds(eds, wanted, endpointsVersion)) {
          return false;
        }
      }
    }
    return true;
  }

  /** The resource names of {@code type} that open streams of {@code kind} last asked for (wildcards add none). */
  public java.util.Set<String> requestedNames(NodeKind kind, XdsType type) {
    java.util.Set<String> names = new java.util.TreeSet<>();
    for (Stream stream : streams.values()) {
      if (NodeKind.of(stream.node) == kind) {
        synchronized (stream) {
          names.addAll(stream.requestedNames.getOrDefault(type.typeUrl(), List.of()));
        }
      }
    }
    return names;
  }

  /** Every open stream, oldest first. */
  public List<XdsClientStatus> clients() {
    List<XdsClientStatus> all = new ArrayList<>();
    streams.values().forEach(s -> all.add(s.status()));
    all.sort(Comparator.comparing(XdsClientStatus::connectedAt).thenComparing(XdsClientStatus::streamId));
    return all;
  }

  @Override
  public void onStreamOpen(long streamId, String typeUrl) {
    streams.put(streamId, new Stream(streamId, clock.instant()));
  }

  @Override
  public void onStreamClose(long streamId, String typeUrl) {
    streams.remove(streamId);
  }

  @Override
  public void onStreamCloseWithError(long streamId, String typeUrl, Throwable error) {
    streams.remove(streamId);
  }

  @Override
  public void onV3StreamRequest(long streamId, DiscoveryRequest request) {
    Stream stream = streams.computeIfAbsent(streamId, id -> new Stream(id, clock.instant()));
    Runnable announcement = NOTHING;
    synchronized (stream) {
      remember(stream, request.hasNode() ? request.getNode() : null);
      Instant now = clock.instant();
      stream.firstRequested.putIfAbsent(request.getTypeUrl(), now);
      stream.requestedNames.put(request.getTypeUrl(), List.copyOf(request.getResourceNamesList()));
      if (request.hasErrorDetail()) {
        // version_info is the last version the client accepted; the rejected one is what the nonce answered.
        announcement = nack(stream, request.getTypeUrl(), stream.versionSentWith(request.getResponseNonce()),
            request.getErrorDetail());
      } else if (!request.getResponseNonce().isEmpty()) {
        announcement = andHolding(ack(stream, request.getTypeUrl(), request.getVersionInfo(),
            request.getResponseNonce(), now));
      }
    }
    announcement.run();
  }

  @Override
  public void onV3StreamDeltaRequest(long streamId, DeltaDiscoveryRequest request) {
    Stream stream = streams.computeIfAbsent(streamId, id -> new Stream(id, clock.instant()));
    Runnable announcement = NOTHING;
    synchronized (stream) {
      stream.protocol = "delta";
      remember(stream, request.hasNode() ? request.getNode() : null);
      Instant now = clock.instant();
      stream.subscriptionChanged(request);
      stream.firstRequested.putIfAbsent(request.getTypeUrl(), now);
      String version = stream.versionSentWith(request.getResponseNonce());
      if (request.hasErrorDetail()) {
        announcement = nack(stream, request.getTypeUrl(), version, request.getErrorDetail());
      } else if (!request.getResponseNonce().isEmpty()) {
        announcement = andHolding(ack(stream, request.getTypeUrl(), version, request.getResponseNonce(), now));
      }
    }
    announcement.run();
  }

  @Override
  public void onV3StreamResponse(long streamId, DiscoveryRequest request, DiscoveryResponse response) {
    Stream stream = streams.get(streamId);
    if (stream != null) {
      synchronized (stream) {
        stream.sent(response.getTypeUrl(), response.getNonce(), new Sent(response.getVersionInfo(), clock.instant(),
            request.getResourceNamesList(), List.of()));
      }
    }
  }

  /**
   * A state-of-the-world stream was left unanswered at {@code version} of {@code typeUrl} because it holds
   * every resource of {@code names} as that version has them ({@link UnchangedAssignmentFilter}): it counts as
   * sent and ACKed, without an ACK event (no ACK latency: nothing was sent). Holding listeners are signalled.
   */
  public void holdsUnchanged(long streamId, String typeUrl, String version, List<String> names) {
    Stream stream = streams.get(streamId);
    if (stream == null) {
      return;
    }
    synchronized (stream) {
      stream.sent.put(typeUrl, version);
      stream.acked.put(typeUrl, version);
      stream.ackedNames.put(typeUrl, List.copyOf(names));
    }
    holdingListeners.signal();
  }

  @Override
  public void onV3StreamDeltaResponse(long streamId, DeltaDiscoveryRequest request, DeltaDiscoveryResponse response) {
    Stream stream = streams.get(streamId);
    if (stream != null) {
      synchronized (stream) {
        stream.sent(response.getTypeUrl(), response.getNonce(), new Sent(response.getSystemVersionInfo(),
            clock.instant(), response.getResourcesList().stream().map(Resource::getName).toList(),
            response.getRemovedResourcesList()));
      }
    }
  }

  /** A node field as the views and logs show it: escaped and cut already when the node was remembered. */
  private static String nodeField(String text) {
    return text;
  }

  /**
   * Keeps of a stream's node only what views, logs and grouping use (id, cluster, user agent), each cut to
   * {@link ClientText#MAX_NODE_FIELD}: a client cannot make the tracker hold its whole metadata.
   */
  private static void remember(Stream stream, Node node) {
    if (node != null) {
      stream.node = Node.newBuilder()
          .setId(ClientText.clip(node.getId(), ClientText.MAX_NODE_FIELD))
          .setCluster(ClientText.clip(node.getCluster(), ClientText.MAX_NODE_FIELD))
          .setUserAgentName(ClientText.clip(node.getUserAgentName(), ClientText.MAX_NODE_FIELD))
          .build();
    }
  }

  /** Records a NACK (stream lock held); returns its announcement, to be run after the lock is released. */
  private Runnable nack(Stream stream, String typeUrl, String version, Status error) {
    XdsClientStatus.Nack nack = new XdsClientStatus.Nack(version,
        ClientText.clip(error.getMessage(), ClientText.MAX_ERROR_DETAIL), clock.instant());
    stream.nacks.put(typeUrl, nack);
    boolean first;
    synchronized (nacksLogged) {
      first = nacksLogged.put(new NackKey(stream.node.getId(), typeUrl, version), Boolean.TRUE) == null;
    }
    if (first) {
      log.warn("NACK from node '{}' (cluster '{}', {}) for {} version '{}': {}", nodeField(stream.node.getId()),
          nodeField(stream.node.getCluster()), nodeField(stream.node.getUserAgentName()), typeUrl, version,
          nack.errorDetail());
    } else {
      log.debug("NACK again from node '{}' for {} version '{}': {}", nodeField(stream.node.getId()), typeUrl,
          version, nack.errorDetail());
    }
    NackEvent event = new NackEvent(nodeField(stream.node.getId()), NodeKind.of(stream.node), typeUrl, nack);
    return () -> nackListeners.announce(event);
  }

  private Runnable andHolding(Runnable ackAnnouncement) {
    return () -> {
      ackAnnouncement.run();
      holdingListeners.signal();
    };
  }

  /** Records an ACK (stream lock held); returns its announcement, to be run after the lock is released. */
  private Runnable ack(Stream stream, String typeUrl, String version, String nonce, Instant at) {
    // An answered response is not referred to again (a NACK answers the latest one): dropped, so a stream
    // does not keep the names of its last 64 responses (an Envoy's first CDS and EDS responses name thousands).
    Sent response = stream.sentByNonce.remove(nonce);
    if (stream.protocol.equals("delta")) {
      if (response != null && HELD_TYPES.contains(typeUrl)) {
        java.util.Set<String> held = stream.held.computeIfAbsent(typeUrl, t -> new java.util.HashSet<>());
        // Only what the client subscribes to (allHoldClusters asks about nothing else): java-control-plane
        // 1.0.49 sends a delta client every cluster, though a gRPC client names the few its routes lead to.
        for (String name : response.names()) {
          if (stream.subscribes(typeUrl, name)) {
            held.add(name);
          }
        }
        response.removed().forEach(held::remove);
      }
    } else if (response != null && response.version().equals(version)) {
      stream.ackedNames.put(typeUrl, response.names());
    } else {
      stream.ackedNames.remove(typeUrl);
    }
    String previous = stream.acked.put(typeUrl, version);
    if (version.isEmpty() || version.equals(previous)) {
      return NOTHING;
    }
    NodeKind kind = NodeKind.of(stream.node);
    Optional<Instant> since = publishedAt(kind, typeUrl, version)
        .or(() -> Optional.ofNullable(response).filter(sent -> sent.version().equals(version)).map(Sent::at));
    Instant requested = stream.firstRequested.get(typeUrl);
    Optional<Duration> latency = since
        .map(published -> requested != null && requested.isAfter(published) ? requested : published)
        .map(from -> Duration.between(from, at))
        .map(d -> d.isNegative() ? Duration.ZERO : d);
    AckEvent event = new AckEvent(nodeField(stream.node.getId()), kind, typeUrl, version, latency);
    return () -> ackListeners.announce(event);
  }

  private Optional<Instant> publishedAt(NodeKind kind, String typeUrl, String version) {
    Map<String, Instant> versions = publishedAt.get(new PublishedType(kind.group(), typeUrl));
    if (versions == null) {
      return Optional.empty();
    }
    synchronized (versions) {
      return Optional.ofNullable(versions.get(version));
    }
  }
}
