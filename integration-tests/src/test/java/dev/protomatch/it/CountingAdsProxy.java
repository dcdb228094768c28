package dev.protomatch.it;

import io.envoyproxy.envoy.service.discovery.v3.AggregatedDiscoveryServiceGrpc;
import io.envoyproxy.envoy.service.discovery.v3.DeltaDiscoveryRequest;
import io.envoyproxy.envoy.service.discovery.v3.DeltaDiscoveryResponse;
import io.envoyproxy.envoy.service.discovery.v3.DiscoveryRequest;
import io.envoyproxy.envoy.service.discovery.v3.DiscoveryResponse;
import io.grpc.Grpc;
import io.grpc.InsecureChannelCredentials;
import io.grpc.InsecureServerCredentials;
import io.grpc.ManagedChannel;
import io.grpc.Server;
import io.grpc.stub.StreamObserver;
import java.io.IOException;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;

/**
 * An ADS pass-through on loopback between real xDS clients and protomatch: every request goes upstream
 * unchanged, every response comes back unchanged, and the proxy counts, per type URL, the responses
 * protomatch sent and the requests that NACKed one. It sees exactly what crosses the wire, independently of
 * protomatch's own bookkeeping.
 *
 * <p>Counters are concurrent maps of atomics; each stream direction is written by one gRPC callback
 * thread at a time, as gRPC delivers them.
 */
public final class CountingAdsProxy implements AutoCloseable {
  private final ManagedChannel upstream;
  private final Server server;
  private final Map<String, AtomicLong> responses = new ConcurrentHashMap<>();
  private final Map<String, AtomicLong> nacks = new ConcurrentHashMap<>();

  private CountingAdsProxy(int upstreamPort) throws IOException {
    upstream = Grpc.newChannelBuilderForAddress("127.0.0.1", upstreamPort, InsecureChannelCredentials.create()).build();
    AggregatedDiscoveryServiceGrpc.AggregatedDiscoveryServiceStub stub = AggregatedDiscoveryServiceGrpc.newStub(upstream);
    server = Grpc.newServerBuilderForPort(0, InsecureServerCredentials.create())
        .addService(new AggregatedDiscoveryServiceGrpc.AggregatedDiscoveryServiceImplBase() {
          @Override
          public StreamObserver<DiscoveryRequest> streamAggregatedResources(StreamObserver<DiscoveryResponse> down) {
            StreamObserver<DiscoveryRequest> up = stub.streamAggregatedResources(
                new Relay<>(down, response -> count(responses, response.getTypeUrl())));
            return new Relay<>(up, request -> {
              if (request.hasErrorDetail()) {
                count(nacks, request.getTypeUrl());
              }
            });
          }

          @Override
          public StreamObserver<DeltaDiscoveryRequest> deltaAggregatedResources(
              StreamObserver<DeltaDiscoveryResponse> down) {
            StreamObserver<DeltaDiscoveryRequest> up = stub.deltaAggregatedResources(
                new Relay<>(down, response -> count(responses, response.getTypeUrl())));
            return new Relay<>(up, request -> {
              if (request.hasErrorDetail()) {
                count(nacks, request.getTypeUrl());
              }
            });
          }
        })
        .build()
        .start();
  }

  /** A proxy on an ephemeral loopback port in front of the ADS server at {@code upstreamPort}. */
  public static CountingAdsProxy start(int upstreamPort) throws IOException {
    return new CountingAdsProxy(upstreamPort);
  }

  public int port() {
    return server.getPort();
  }

  /** Responses protomatch sent through the proxy so far, by type URL. */
  public Map<String, Long> responses() {
    return snapshot(responses);
  }

  /** Requests carrying an error_detail (NACKs) the clients sent so far, by type URL. */
  public Map<String, Long> nacks() {
    return snapshot(nacks);
  }

  public long totalResponses() {
    return responses.values().stream().mapToLong(AtomicLong::get).sum();
  }

  public long totalNacks() {
    return nacks.values().stream().mapToLong(AtomicLong::get).sum();
  }

  private static void count(Map<String, AtomicLong> counters, String typeUrl) {
    counters.computeIfAbsent(typeUrl, t -> new AtomicLong()).incrementAndGet();
  }

  private static Map<String, Long> snapshot(Map<String, AtomicLong> counters) {
    Map<String, Long> copy = new TreeMap<>();
    counters.forEach((type, count) -> copy.put(type, count.get()));
    return copy;
  }

  @Override
  public void close() {
    server.shutdownNow();
    upstream.shutdownNow();
    try {
      server.awaitTermination(5, TimeUnit.SECONDS);
      upstream.awaitTermination(5, TimeUnit.SECONDS);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }

  /** Forwards one direction of a stream, letting {@code seen} look at each message first. */
  private static final class Relay<T> implements StreamObserver<T> {
    private final StreamObserver<T> next;
    private final java.util.function.Consumer<T> seen;

    Relay(StreamObserver<T> next, java.util.function.Consumer<T> seen) {
      this.next = next;
      this.seen = seen;
    }

    @Override
    public void onNext(T message) {
      seen.accept(message);
      next.onNext(message);
    }

    @Override
    public void onError(Throwable t) {
      next.onError(t);
    }

    @Override
    public void onCompleted() {
      next.onCompleted();
    }
  }
}
