package dev.protomatch.xds;

import com.google.rpc.Status;
import io.envoyproxy.controlplane.server.DiscoveryServerCallbacks;
import io.envoyproxy.envoy.config.core.v3.Node;
import io.envoyproxy.envoy.service.discovery.v3.DeltaDiscoveryRequest;
import io.envoyproxy.envoy.service.discovery.v3.DeltaDiscoveryResponse;
import io.envoyproxy.envoy.service.discovery.v3.DiscoveryRequest;
import io.envoyproxy.envoy.service.discovery.v3.DiscoveryResponse;
import java.time.Clock;
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
 * what it acknowledged, and what it rejected. A NACK is logged once, with the client's own error text, and
 * changes nothing for other clients (each stream has its own watches).
 */
public final class XdsClientTracker implements DiscoveryServerCallbacks {
  private static final Logger log = LoggerFactory.getLogger(XdsClientTracker.class);

  private final Clock clock;
  private final Map<Long, Stream> streams = new ConcurrentHashMap<>();
  private final List<Consumer<XdsClientStatus.Nack>> nackListeners = new java.util.concurrent.CopyOnWriteArrayList<>();

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
    final Map<String, String> versionByNonce = new HashMap<>();

    void sent(String typeUrl, String nonce, String version) {
      this.sent.put(typeUrl, version);
      if (versionByNonce.size() >= 64) {
        versionByNonce.clear(); // nonces are answered promptly; old ones are never referred to again
      }
      versionByNonce.put(nonce, version);
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
      return new XdsClientStatus(id, node.getId(), node.getCluster(), node.getUserAgentName(), protocol, openedAt, types);
    }
  }

  public void addNackListener(Consumer<XdsClientStatus.Nack> listener) {
    nackListeners.add(listener);
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
    synchronized (stream) {
      remember(stream, request.hasNode() ? request.getNode() : null);
      if (request.hasErrorDetail()) {
        // version_info is the last version the client accepted; the rejected one is what the nonce answered.
        nack(stream, request.getTypeUrl(), stream.versionByNonce.getOrDefault(request.getResponseNonce(), ""),
            request.getErrorDetail());
      } else if (!request.getResponseNonce().isEmpty()) {
        stream.acked.put(request.getTypeUrl(), request.getVersionInfo());
      }
    }
  }

  @Override
  public void onV3StreamDeltaRequest(long streamId, DeltaDiscoveryRequest request) {
    Stream stream = streams.computeIfAbsent(streamId, id -> new Stream(id, clock.instant()));
    synchronized (stream) {
      stream.protocol = "delta";
      remember(stream, request.hasNode() ? request.getNode() : null);
      String version = stream.versionByNonce.getOrDefault(request.getResponseNonce(), "");
      if (request.hasErrorDetail()) {
        nack(stream, request.getTypeUrl(), version, request.getErrorDetail());
      } else if (!request.getResponseNonce().isEmpty()) {
        stream.acked.put(request.getTypeUrl(), version);
      }
    }
  }

  @Override
  public void onV3StreamResponse(long streamId, DiscoveryRequest request, DiscoveryResponse response) {
    Stream stream = streams.get(streamId);
    if (stream != null) {
      synchronized (stream) {
        stream.sent(response.getTypeUrl(), response.getNonce(), response.getVersionInfo());
      }
    }
  }

  @Override
  public void onV3StreamDeltaResponse(long streamId, DeltaDiscoveryRequest request, DeltaDiscoveryResponse response) {
    Stream stream = streams.get(streamId);
    if (stream != null) {
      synchronized (stream) {
        stream.sent(response.getTypeUrl(), response.getNonce(), response.getSystemVersionInfo());
      }
    }
  }

  private static void remember(Stream stream, Node node) {
    if (node != null) {
      stream.node = node;
    }
  }

  private void nack(Stream stream, String typeUrl, String version, Status error) {
    XdsClientStatus.Nack nack = new XdsClientStatus.Nack(version, error.getMessage(), clock.instant());
    stream.nacks.put(typeUrl, nack);
    log.warn("NACK from node '{}' (cluster '{}', {}) for {} version '{}': {}", stream.node.getId(),
        stream.node.getCluster(), stream.node.getUserAgentName(), typeUrl, version, error.getMessage());
    nackListeners.forEach(l -> l.accept(nack));
  }
}
