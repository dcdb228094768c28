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
import java.util.HashMap;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentMap;
import java.util.function.Consumer;

/**
 * Serves a delta stream the listeners and clusters it subscribed to by name, rather than all of them.
 *
 * <p>java-control-plane 1.0.49 treats every delta LDS and CDS subscription as a wildcard
 * ({@code AdsDeltaDiscoveryRequestStreamObserver.isWildcard} is true for those types whatever the client asked),
 * so a client naming the one listener and the few clusters it needs is sent every listener and cluster of the
 * fleet, and its stream keeps a version of each. This watcher tells the cache what the xDS protocol says the
 * stream subscribed to: a wildcard when its first request of LDS or CDS subscribes to no name (Envoy's "legacy
 * wildcard"), or when it subscribes to {@code *}, until it unsubscribes from {@code *}; otherwise the names
 * it subscribed to. State-of-the-world watches pass through untouched.
 *
 * <p>It must be registered as a callback: it reads each stream's requests there, and recognizes the request a
 * watch is created for by identity (java-control-plane passes the very request object it gave the callbacks to
 * the watcher). Per-stream state is guarded by the stream's own map; requests arrive on gRPC threads.
 */
final class DeltaSubscriptions implements ConfigWatcher, DiscoveryServerCallbacks {
  private static final Set<String> LEGACY_WILDCARD_TYPES = Set.of(XdsType.LDS.typeUrl(), XdsType.CDS.typeUrl());

  private final ConfigWatcher next;
  /** By stream, by type: whether its subscription is a wildcard. Each inner map guarded by itself. */
  private final Map<Long, Map<String, Boolean>> streams = new ConcurrentHashMap<>();
  /** The subscription each delta request leaves, from the callback to the watch; weak identity keys. */
  private final ConcurrentMap<Object, Subscription> subscriptionOfRequest = new MapMaker().weakKeys().makeMap();

  /** A stream's subscription to a type after a request: a wildcard or not, and whether that request made it one. */
  private record Subscription(boolean wildcard, boolean widened) {}

  DeltaSubscriptions(ConfigWatcher next) {
    this.next = next;
  }

  @Override
  public void onStreamOpen(long streamId, String typeUrl) {
    streams.put(streamId, new HashMap<>());
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
  public void onV3StreamRequest(long streamId, io.envoyproxy.envoy.service.discovery.v3.DiscoveryRequest request) {
    // state of the world: every request names what it subscribes to
  }

  @Override
  public void onV3StreamDeltaRequest(long streamId, DeltaDiscoveryRequest request) {
    Map<String, Boolean> types = streams.get(streamId);
    if (types == null) {
      return;
    }
    String type = request.getTypeUrl();
    Subscription subscription;
    synchronized (types) {
      Boolean before = types.get(type);
      boolean wildcard = before != null ? before
          : LEGACY_WILDCARD_TYPES.contains(type) && request.getResourceNamesSubscribeCount() == 0;
      if (request.getResourceNamesSubscribeList().contains("*")) {
        wildcard = true;
      }
      if (request.getResourceNamesUnsubscribeList().contains("*")) {
        wildcard = false;
      }
      types.put(type, wildcard);
      subscription = new Subscription(wildcard, before != null && !before && wildcard);
    }
    subscriptionOfRequest.put(request, subscription);
  }

  @Override
  public DeltaWatch createDeltaWatch(DeltaXdsRequest request, String requesterVersion,
                                     Map<String, String> resourceVersions, Set<String> pendingResources,
                                     boolean isWildcard, Consumer<DeltaResponse> responseConsumer,
                                     boolean hasClusterChanged) {
    Subscription subscription = subscriptionOfRequest.remove(request.v3Request());
    if (subscription == null) {
      return next.createDeltaWatch(request, requesterVersion, resourceVersions, pendingResources, isWildcard,
          responseConsumer, hasClusterChanged);
    }
    // A stream that just became a wildcard is owed every resource it does not track, now: the cache compares
    // the snapshot with what the stream tracks only when the versions differ.
    return next.createDeltaWatch(request, subscription.widened() ? "" : requesterVersion, resourceVersions,
        pendingResources, subscription.wildcard(), responseConsumer, hasClusterChanged);
  }

  @Override
  public Watch createWatch(boolean ads, XdsRequest request, Set<String> knownResourceNames,
                           Consumer<Response> responseConsumer, boolean hasClusterChanged,
                           boolean allowDefaultEmptyEdsUpdate) {
    return next.createWatch(ads, request, knownResourceNames, responseConsumer, hasClusterChanged,
        allowDefaultEmptyEdsUpdate);
  }
}
