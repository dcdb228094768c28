package dev.protomatch.xds;

import io.envoyproxy.envoy.config.core.v3.Node;
import io.envoyproxy.envoy.service.discovery.v3.AggregatedDiscoveryServiceGrpc;
import io.envoyproxy.envoy.service.discovery.v3.DeltaDiscoveryRequest;
import io.envoyproxy.envoy.service.discovery.v3.DeltaDiscoveryResponse;
import io.envoyproxy.envoy.service.discovery.v3.DiscoveryRequest;
import io.envoyproxy.envoy.service.discovery.v3.DiscoveryResponse;
import io.grpc.stub.StreamObserver;
import java.util.function.Function;

/**
 * ADS with the node carried through the stream. Clients may send their node only on a stream's first
 * request (Envoy's {@code set_node_on_first_message_only}, and gRPC clients by default), but
 * java-control-plane picks the snapshot group from each request's own node; without this, an Envoy's later
 * requests would be answered with the proxyless group's resources.
 */
final class NodeCarryingAdsService extends AggregatedDiscoveryServiceGrpc.AggregatedDiscoveryServiceImplBase {
  private final AggregatedDiscoveryServiceGrpc.AggregatedDiscoveryServiceImplBase delegate;

  NodeCarryingAdsService(AggregatedDiscoveryServiceGrpc.AggregatedDiscoveryServiceImplBase delegate) {
    this.delegate = delegate;
  }

  @Override
  public StreamObserver<DiscoveryRequest> streamAggregatedResources(StreamObserver<DiscoveryResponse> responses) {
    return new Carrying<>(delegate.streamAggregatedResources(responses),
        DiscoveryRequest::hasNode, DiscoveryRequest::getNode, (request, node) -> request.toBuilder().setNode(node).build());
  }

  @Override
  public StreamObserver<DeltaDiscoveryRequest> deltaAggregatedResources(StreamObserver<DeltaDiscoveryResponse> responses) {
    return new Carrying<>(delegate.deltaAggregatedResources(responses),
        DeltaDiscoveryRequest::hasNode, DeltaDiscoveryRequest::getNode,
        (request, node) -> request.toBuilder().setNode(node).build());
  }

  /** Remembers the first node seen on the stream and puts it into requests that lack one. */
  private static final class Carrying<R> implements StreamObserver<R> {
    private final StreamObserver<R> inner;
    private final java.util.function.Predicate<R> hasNode;
    private final Function<R, Node> node;
    private final java.util.function.BiFunction<R, Node, R> withNode;
    private Node first;

    Carrying(StreamObserver<R> inner, java.util.function.Predicate<R> hasNode, Function<R, Node> node,
             java.util.function.BiFunction<R, Node, R> withNode) {
      this.inner = inner;
      this.hasNode = hasNode;
      this.node = node;
      this.withNode = withNode;
    }

    @Override
    public void onNext(R request) {
      // An empty node counts as none: some clients send the field, empty, after the first request.
      if (hasNode.test(request) && !node.apply(request).equals(Node.getDefaultInstance())) {
        if (first == null) {
          first = node.apply(request);
        }
        inner.onNext(request);
      } else {
        inner.onNext(first == null ? request : withNode.apply(request, first));
      }
    }

    @Override
    public void onError(Throwable t) {
      inner.onError(t);
    }

    @Override
    public void onCompleted() {
      inner.onCompleted();
    }
  }
}
