package dev.protomatch.xds;

import com.google.common.collect.MapMaker;
import com.google.protobuf.Message;
import io.envoyproxy.controlplane.cache.ConfigWatcher;
import io.envoyproxy.controlplane.cache.DeltaResponse;
import io.envoyproxy.controlplane.cache.DeltaWatch;
import io.envoyproxy.controlplane.cache.DeltaXdsRequest;
import io.envoyproxy.controlplane.cache.Resources;
import io.envoyproxy.controlplane.cache.Response;
import io.envoyproxy.controlplane.cache.Watch;
import io.envoyproxy.controlplane.cache.XdsRequest;
import io.envoyproxy.controlplane.server.DiscoveryServerCallbacks;
import io.envoyproxy.envoy.service.discovery.v3.DeltaDiscoveryRequest;
import io.envoyproxy.envoy.service.discovery.v3.DiscoveryRequest;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentMap;
import java.util.function.Consumer;

/**
 * Leaves out of each state-of-the-world EDS response the assignments its stream already holds, unchanged.
 *
 * <p>java-control-plane answers every change of the EDS version with every assignment the stream asks for: an
 * Envoy watching 3,000 clusters is sent all 3,000 when one service's endpoints change. The xDS protocol makes
 * only LDS and CDS state-of-the-world responses complete; an EDS response may carry just some of the
 * requested assignments, and clients (Envoy, grpc-java, grpc-js) keep the ones it leaves out. So a stream is
 * sent the requested assignments it does not hold as the very resource object now published: new ones, and
 * ones whose content changed (resource objects are immutable and reused from snapshot to snapshot while
 * their content is unchanged, so a different object is, at worst, the same content sent again). A response
 * with nothing left is not sent at all: the stream's watch on the cache is re-armed at the new version, as if
 * the client had ACKed it, and {@link Unanswered} is told that the stream holds that version unchanged, so
 * every ACK-based view (staging, admin) sees the stream at the version in force. A stream whose assignments a
 * change does not touch thus costs no response, no ACK and no new watch from the client; only the streams
 * that watch the changed service are answered.
 *
 * <p>Caveats, each answered by sending everything requested:
 * <ul>
 *   <li>after a stream NACKs an EDS response it holds nothing as far as this filter knows (a client may have
 *       applied part of the response it rejected);
 *   <li>just after a CDS response (java-control-plane's {@code hasClusterChanged}): Envoy re-warms a changed
 *       cluster and waits for that cluster's assignment, whether or not the assignment changed.
 * </ul>
 * A name the client leaves out of its request is dropped from what it holds (clients drop what they no
 * longer ask for). What a stream holds is also what java-control-plane is told it knows, since
 * java-control-plane takes the names in the last ACKed response for that, and those are now only the ones
 * sent.
 *
 * <p>It must be registered as a callback: it learns each stream's requests there, and recognizes the request
 * a watch is created for by identity (java-control-plane passes the very request object it gave the
 * callbacks to the watcher), so it must be the outermost watcher. Per-stream state is guarded by the
 * stream's own lock; requests arrive on gRPC threads, responses on the publishing thread or a gRPC thread.
 * Delta watches pass through untouched (delta already sends only what changed).
 *
 * <p>The watch java-control-plane holds for a stream is a {@link RearmingWatch}: cancelling it cancels whichever
 * watch on the cache is armed behind it. A request the client sends later (a new subscription, a reconnect)
 * carries the last version it was actually sent; the cache then answers at once, and this filter sends what
 * the stream does not hold, if anything.
 */
final class UnchangedAssignmentFilter implements ConfigWatcher, DiscoveryServerCallbacks {
  private static final String EDS = XdsType.EDS.typeUrl();

  /** Told, on the publishing thread, of each stream left unanswered because it holds a version unchanged. */
  interface Unanswered {
    Unanswered NONE = (streamId, typeUrl, version, names) -> { };

    /** Stream {@code streamId} holds {@code version} of {@code typeUrl} for {@code names}, unchanged, unsent. */
    void holdsUnchanged(long streamId, String typeUrl, String version, List<String> names);
  }

  private final ConfigWatcher next;
  private final Unanswered unanswered;
  private final Map<Long, Held> streams = new ConcurrentHashMap<>();
  /** The stream of each EDS request, from the request callback to the watch; weak identity keys. */
  private final ConcurrentMap<Object, Held> streamOfRequest = new MapMaker().weakKeys().makeMap();

  /** What one stream holds of EDS: by cluster name, the assignment object last sent. Guarded by itself. */
  private static final class Held {
    final long streamId;
    final Map<String, Message> assignments = new HashMap<>();
    /** The names of the stream's latest EDS request: an ACK repeats them, and then nothing is dropped. */
    List<String> lastRequested = List.of();
    /** An immutable copy of {@code assignments}' names, or null once they changed (an Envoy holds thousands). */
    Set<String> known;

    Held(long streamId) {
      this.streamId = streamId;
    }
  }

  UnchangedAssignmentFilter(ConfigWatcher next) {
    this(next, Unanswered.NONE);
  }

  UnchangedAssignmentFilter(ConfigWatcher next, Unanswered unanswered) {
    this.next = next;
    this.unanswered = unanswered;
  }

  // ---- callbacks

  @Override
  public void onStreamOpen(long streamId, String typeUrl) {
    streams.put(streamId, new Held(streamId));
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
    Held held = request.getTypeUrl().equals(EDS) ? streams.get(streamId) : null;
    if (held == null) {
      return;
    }
    synchronized (held) {
      if (request.hasErrorDetail()) {
        held.assignments.clear();
        held.known = null;
      } else if (request.getResourceNamesCount() > 0 && !request.getResourceNamesList().equals(held.lastRequested)
          && held.assignments.keySet().retainAll(Set.copyOf(request.getResourceNamesList()))) {
        held.known = null;
      }
      held.lastRequested = request.getResourceNamesList();
    }
    streamOfRequest.put(request, held);
  }

  @Override
  public void onV3StreamDeltaRequest(long streamId, DeltaDiscoveryRequest request) {
    // delta streams pass through untouched
  }

  // ---- watches

  @Override
  public Watch createWatch(boolean ads, XdsRequest request, Set<String> knownResourceNames,
                           Consumer<Response> responseConsumer, boolean hasClusterChanged,
                           boolean allowDefaultEmptyEdsUpdate) {
    Held held = streamOfRequest.remove(request.v3Request());
    if (held == null) {
      return next.createWatch(ads, request, knownResourceNames, responseConsumer, hasClusterChanged,
          allowDefaultEmptyEdsUpdate);
    }
    RearmingWatch watch = new RearmingWatch(ads, allowDefaultEmptyEdsUpdate, request, responseConsumer, held);
    watch.arm(request, known(held), hasClusterChanged);
    return watch;
  }

  private static Set<String> known(Held held) {
    synchronized (held) {
      if (held.known == null) {
        held.known = Set.copyOf(held.assignments.keySet());
      }
      return held.known;
    }
  }

  /**
   * The watch java-control-plane holds for one state-of-the-world EDS request. Behind it, one watch on the
   * cache at a time ({@link #arm}); a response that would carry nothing the stream lacks is not forwarded, and
   * a new watch is armed at the response's version instead.
   */
  private final class RearmingWatch extends Watch {
    private final Consumer<Response> toStream;
    private final Held held;
    private final Object lock = new Object();
    /** The watch on the cache armed last; guarded by {@link #lock}. */
    private Watch current;
    /** Counts {@link #arm} calls, so a nested re-arm (a cache answering at once) is not overwritten. Lock. */
    private long armed;
    private boolean cancelled;

    RearmingWatch(boolean ads, boolean allowDefaultEmptyEdsUpdate, XdsRequest request, Consumer<Response> toStream,
                  Held held) {
      super(ads, allowDefaultEmptyEdsUpdate, request, toStream);
      this.toStream = toStream;
      this.held = held;
    }

    /** Arms a watch on the cache for {@code request}; the cache may answer before this returns. */
    void arm(XdsRequest request, Set<String> known, boolean sendAll) {
      long generation;
      synchronized (lock) {
        generation = ++armed;
      }
      Watch watch = next.createWatch(ads(), request, known, response -> answered(response, sendAll), sendAll,
          allowDefaultEmptyEdsUpdate());
      boolean cancel;
      synchronized (lock) {
        cancel = cancelled;
        if (!cancel && armed == generation) {
          current = watch;
        }
      }
      if (cancel) {
        watch.cancel();
      }
    }

    private void answered(Response response, boolean sendAll) {
      synchronized (lock) {
        if (cancelled) {
          return;
        }
      }
      Response trimmed = trim(held, response, sendAll);
      if (trimmed != null) {
        toStream.accept(trimmed);
        return;
      }
      DiscoveryRequest asked = response.request().v3Request();
      unanswered.holdsUnchanged(held.streamId, EDS, response.version(), asked.getResourceNamesList());
      arm(XdsRequest.create(asked.toBuilder().setVersionInfo(response.version()).build()), known(held), false);
    }

    @Override
    public void cancel() {
      super.cancel();
      Watch watch;
      synchronized (lock) {
        cancelled = true;
        watch = current;
      }
      if (watch != null) {
        watch.cancel();
      }
    }
  }

  /**
   * {@code response} without the assignments {@code held} already has (all of them if {@code sendAll}); null
   * when that leaves nothing of a response that had something.
   */
  private static Response trim(Held held, Response response, boolean sendAll) {
    List<Message> kept = new ArrayList<>(response.resources().size());
    synchronized (held) {
      for (Message assignment : response.resources()) {
        Message before = held.assignments.put(Resources.getResourceName(assignment), assignment);
        if (before == null) {
          held.known = null;
        }
        if (sendAll || before != assignment) {
          kept.add(assignment);
        }
      }
    }
    if (kept.size() == response.resources().size()) {
      return response;
    }
    return kept.isEmpty() ? null : Response.create(response.request(), kept, response.version());
  }

  @Override
  public DeltaWatch createDeltaWatch(DeltaXdsRequest request, String requesterVersion,
                                     Map<String, String> resourceVersions, Set<String> pendingResources,
                                     boolean isWildcard, Consumer<DeltaResponse> responseConsumer,
                                     boolean hasClusterChanged) {
    return next.createDeltaWatch(request, requesterVersion, resourceVersions, pendingResources, isWildcard,
        responseConsumer, hasClusterChanged);
  }
}
