package dev.protomatch.xds;

import com.google.common.collect.MapMaker;
import io.envoyproxy.controlplane.cache.ConfigWatcher;
import io.envoyproxy.controlplane.cache.DeltaResponse;
import io.envoyproxy.controlplane.cache.DeltaWatch;
import io.envoyproxy.controlplane.cache.DeltaXdsRequest;
import io.envoyproxy.controlplane.cache.Response;
import io.envoyproxy.controlplane.cache.Watch;
import io.envoyproxy.controlplane.cache.XdsRequest;
import io.envoyproxy.controlplane.server.DiscoveryServerCallbacks;
import io.envoyproxy.envoy.service.discovery.v3.DeltaDiscoveryRequest;
import io.envoyproxy.envoy.service.discovery.v3.DeltaDiscoveryResponse;
import io.envoyproxy.envoy.service.discovery.v3.DiscoveryRequest;
import io.envoyproxy.envoy.service.discovery.v3.DiscoveryResponse;
import io.envoyproxy.envoy.service.discovery.v3.Resource;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentMap;
import java.util.function.Consumer;

/**
 * Keeps a rejected version away from the stream that rejected it, so a client that NACKs does not get the
 * same thing again at once (and NACK again, and again: a NACK storm).
 *
 * <p>java-control-plane answers a state-of-the-world NACK as if the client held its last accepted version:
 * its {@code version_info} differs from the snapshot's, so the cache sends the snapshot again immediately.
 * On a delta stream the rejected resources stay pending and are sent again likewise. This guard sits
 * between java-control-plane's stream handling and the {@link ConfigWatcher} (the snapshot cache) and, for
 * a stream and type whose latest response was NACKed, asks for watches as if the client held what it
 * rejected:
 *
 * <ul>
 *   <li>state of the world: the watch's {@code version_info} is the rejected version and its resource names
 *       count as known, so the cache answers with the next snapshot whose version for the type differs (or
 *       at once for names the client newly asks for);
 *   <li>delta: each rejected resource counts as held at the rejected resource version and is no longer
 *       pending, so it is sent again only once its content changes (or the client re-subscribes to it).
 * </ul>
 *
 * <p>It also keeps java-control-plane from taking a state-of-the-world client for holding a resource it
 * dropped: a name left out of a stream's previous request of the type does not count as known, so a client
 * that subscribes to it again is answered at once rather than only when the type's version next changes.
 *
 * <p>The cache's "send EDS after CDS changed" rule is not applied to a watch for a rejected version either.
 * The rejection is forgotten once the stream is sent anything else of that type (state of the world) or that
 * resource (delta). Apart from these, the guard changes nothing: ACKs, every other request and all other streams go to the cache untouched,
 * and the NACK itself still reaches every other callback (the {@link XdsClientTracker} counts each one).
 *
 * <p>It learns what each stream was sent and rejected through java-control-plane's callbacks (it must be
 * registered as one), and recognizes the request a watch is created for by identity: java-control-plane
 * passes the very request object it gave the callbacks to the watcher. Per-stream state is guarded by the
 * stream's own lock; callbacks arrive on gRPC threads and, for responses, on the publishing thread.
 */
final class NackedVersionGuard implements ConfigWatcher, DiscoveryServerCallbacks {
  private final ConfigWatcher cache;
  private final Map<Long, StreamState> streams = new ConcurrentHashMap<>();
  /**
   * The stream of each request that must be answered as if the client held what it rejected, from the
   * request callback to the watch; weak identity keys, so a request java-control-plane drops (a stale nonce
   * creates no watch) is forgotten with it.
   */
  private final ConcurrentMap<Object, StreamState> guardedRequests = new MapMaker().weakKeys().makeMap();
  /**
   * State of the world: for each request, the names of the stream's previous request of its type (what the
   * client still held when it sent this one), from the request callback to the watch; weak identity keys.
   */
  private final ConcurrentMap<Object, Set<String>> heldBefore = new MapMaker().weakKeys().makeMap();

  NackedVersionGuard(ConfigWatcher cache) {
    this.cache = cache;
  }

  /** A state-of-the-world response: its version, nonce, and the resource names its request asked for. */
  private record Sent(String version, String nonce, Set<String> names) {}

  private static final class StreamState {
    // Guarded by this.
    final Map<String, Sent> lastSent = new HashMap<>();
    final Map<String, Sent> rejected = new HashMap<>();
    /** State of the world: by type, the resource names of the latest request. */
    final Map<String, Set<String>> requested = new HashMap<>();
    /** State of the world: by type, the name list {@link #requested} was copied from (ACKs repeat it). */
    final Map<String, List<String>> requestedFrom = new HashMap<>();

    /**
     * The names of {@code names} as a set: the set of the type's latest request when they are the same (an
     * Envoy names thousands of assignments in every ACK), so unchanged names are neither copied nor compared
     * again by the watch.
     */
    Set<String> names(String typeUrl, List<String> names) {
      List<String> from = requestedFrom.get(typeUrl);
      Set<String> set = requested.get(typeUrl);
      if (set != null && (names == from || names.equals(from))) {
        return set;
      }
      return Set.copyOf(names);
    }
    /** Delta: by type, resource name to version, of each response not yet answered, by nonce. */
    final Map<String, Map<String, Map<String, String>>> deltaSent = new HashMap<>();
    /** Delta: by type, the rejected resources (name to rejected resource version). */
    final Map<String, Map<String, String>> deltaRejected = new HashMap<>();
  }

  // ---- callbacks

  @Override
  public void onStreamOpen(long streamId, String typeUrl) {
    streams.put(streamId, new StreamState());
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
    StreamState stream = streams.get(streamId);
    if (stream == null) {
      return;
    }
    boolean guarded;
    Set<String> previous;
    synchronized (stream) {
      Set<String> names = stream.names(request.getTypeUrl(), request.getResourceNamesList());
      previous = stream.requested.put(request.getTypeUrl(), names);
      stream.requestedFrom.put(request.getTypeUrl(), request.getResourceNamesList());
      if (previous == names) {
        previous = null; // the same names as before: none was dropped
      }
      Sent last = stream.lastSent.get(request.getTypeUrl());
      // java-control-plane ignores requests that do not answer the latest response; so does the guard.
      if (request.hasErrorDetail() && last != null && last.nonce().equals(request.getResponseNonce())) {
        stream.rejected.put(request.getTypeUrl(), last);
      }
      guarded = stream.rejected.containsKey(request.getTypeUrl());
    }
    if (previous != null && !previous.isEmpty()) {
      heldBefore.put(request, previous);
    }
    if (guarded) {
      guardedRequests.put(request, stream);
    }
  }

  @Override
  public void onV3StreamResponse(long streamId, DiscoveryRequest request, DiscoveryResponse response) {
    StreamState stream = streams.get(streamId);
    if (stream == null) {
      return;
    }
    synchronized (stream) {
      stream.lastSent.put(response.getTypeUrl(), new Sent(response.getVersionInfo(), response.getNonce(),
          stream.names(response.getTypeUrl(), request.getResourceNamesList())));
      stream.rejected.remove(response.getTypeUrl());
    }
  }

  @Override
  public void onV3StreamDeltaRequest(long streamId, DeltaDiscoveryRequest request) {
    StreamState stream = streams.get(streamId);
    if (stream == null) {
      return;
    }
    String type = request.getTypeUrl();
    boolean guarded;
    synchronized (stream) {
      Map<String, String> rejected = stream.deltaRejected.computeIfAbsent(type, t -> new HashMap<>());
      Map<String, Map<String, String>> unanswered = stream.deltaSent.computeIfAbsent(type, t -> new HashMap<>());
      Map<String, String> answered = request.getResponseNonce().isEmpty() ? null
          : unanswered.remove(request.getResponseNonce());
      if (request.hasErrorDetail() && answered != null) {
        rejected.putAll(answered);
      }
      // A resource the client subscribes to anew is wanted again whatever it rejected before.
      request.getResourceNamesSubscribeList().forEach(rejected::remove);
      request.getResourceNamesUnsubscribeList().forEach(rejected::remove);
      guarded = !rejected.isEmpty();
    }
    if (guarded) {
      guardedRequests.put(request, stream);
    }
  }

  @Override
  public void onV3StreamDeltaResponse(long streamId, DeltaDiscoveryRequest request, DeltaDiscoveryResponse response) {
    StreamState stream = streams.get(streamId);
    if (stream == null) {
      return;
    }
    synchronized (stream) {
      Map<String, String> versions = new HashMap<>();
      for (Resource resource : response.getResourcesList()) {
        versions.put(resource.getName(), resource.getVersion());
      }
      Map<String, Map<String, String>> unanswered =
          stream.deltaSent.computeIfAbsent(response.getTypeUrl(), t -> new HashMap<>());
      if (unanswered.size() >= 16) {
        unanswered.clear(); // responses are answered promptly; ones this old are never referred to again
      }
      unanswered.put(response.getNonce(), versions);
      Map<String, String> rejected = stream.deltaRejected.get(response.getTypeUrl());
      if (rejected != null) {
        rejected.keySet().removeAll(versions.keySet());
        response.getRemovedResourcesList().forEach(rejected::remove);
      }
    }
  }

  // ---- watches

  @Override
  public Watch createWatch(boolean ads, XdsRequest request, Set<String> knownResourceNames,
                           Consumer<Response> responseConsumer, boolean hasClusterChanged,
                           boolean allowDefaultEmptyEdsUpdate) {
    // A name the client left out of its previous request is one it dropped (with its copy of the resource):
    // java-control-plane still counts it as known (it was in the last response the client acknowledged), so
    // a client subscribing to it again would be answered only once the type's version changes, and with
    // content-derived versions that may be never (a build set that leaves and comes back brings back the very
    // same cluster).
    Set<String> before = heldBefore.remove(request.v3Request());
    if (before != null) {
      Set<String> held = new HashSet<>(knownResourceNames);
      held.retainAll(before);
      knownResourceNames = held;
    }
    StreamState stream = guardedRequests.remove(request.v3Request());
    Sent rejected = null;
    if (stream != null) {
      synchronized (stream) {
        rejected = stream.rejected.get(request.getTypeUrl());
      }
    }
    // Never as ADS: java-control-plane then answers no request naming a resource its snapshot lacks (and
    // drops the watch when a new name comes with a missing one), so a client still subscribed to a retired
    // cluster, or reconnecting after a restart with names the new process does not have, would get no CDS or
    // EDS update at all. Answering with the named resources that exist is what the xDS protocol asks; the
    // consistency ADS ordering protects is protomatch's own (clusters named by build set, kept while routes
    // may refer to them: ClusterRetention).
    if (rejected == null) {
      return cache.createWatch(false, request, knownResourceNames, responseConsumer, hasClusterChanged,
          allowDefaultEmptyEdsUpdate);
    }
    XdsRequest asIfHeld = XdsRequest.create(request.v3Request().toBuilder().setVersionInfo(rejected.version()).build());
    Set<String> known = new HashSet<>(knownResourceNames);
    known.addAll(rejected.names());
    return cache.createWatch(false, asIfHeld, known, responseConsumer, false, allowDefaultEmptyEdsUpdate);
  }

  @Override
  public DeltaWatch createDeltaWatch(DeltaXdsRequest request, String requesterVersion,
                                     Map<String, String> resourceVersions, Set<String> pendingResources,
                                     boolean isWildcard, Consumer<DeltaResponse> responseConsumer,
                                     boolean hasClusterChanged) {
    StreamState stream = guardedRequests.remove(request.v3Request());
    Map<String, String> rejected = Map.of();
    if (stream != null) {
      synchronized (stream) {
        rejected = Map.copyOf(stream.deltaRejected.getOrDefault(request.getTypeUrl(), Map.of()));
      }
    }
    if (rejected.isEmpty()) {
      return cache.createDeltaWatch(request, requesterVersion, resourceVersions, pendingResources, isWildcard,
          responseConsumer, hasClusterChanged);
    }
    Map<String, String> held = new HashMap<>(resourceVersions);
    held.putAll(rejected);
    Set<String> pending = new HashSet<>(pendingResources);
    pending.removeAll(rejected.keySet());
    return cache.createDeltaWatch(request, requesterVersion, held, pending, isWildcard, responseConsumer, false);
  }
}
