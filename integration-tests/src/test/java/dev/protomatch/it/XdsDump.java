package dev.protomatch.it;

import com.google.protobuf.Any;
import io.envoyproxy.envoy.config.core.v3.Node;
import io.envoyproxy.envoy.config.endpoint.v3.ClusterLoadAssignment;
import io.envoyproxy.envoy.config.endpoint.v3.LbEndpoint;
import io.envoyproxy.envoy.config.endpoint.v3.LocalityLbEndpoints;
import io.envoyproxy.envoy.service.discovery.v3.AggregatedDiscoveryServiceGrpc;
import io.envoyproxy.envoy.service.discovery.v3.DiscoveryRequest;
import io.envoyproxy.envoy.service.discovery.v3.DiscoveryResponse;
import io.grpc.Grpc;
import io.grpc.InsecureChannelCredentials;
import io.grpc.ManagedChannel;
import io.grpc.stub.StreamObserver;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;

/**
 * Everything an xDS server publishes to one node, as a client receives it: one state-of-the-world ADS stream
 * asking for all listeners, route configurations, clusters and assignments (no resource names: all of each
 * type), the first response of each type kept. {@link #resources()} maps "type name" to the serialized
 * resource (hex) and "type version" to the response's {@code version_info}, so two servers' dumps compare
 * byte for byte with {@code equals}.
 */
record XdsDump(Map<String, String> resources, Set<Integer> assignedPorts) {
  static final String LISTENER = "type.googleapis.com/envoy.config.listener.v3.Listener";
  static final String ROUTE = "type.googleapis.com/envoy.config.route.v3.RouteConfiguration";
  static final List<String> TYPES = List.of(LISTENER, ROUTE, AdsClient.CLUSTER_TYPE, AdsClient.ENDPOINT_TYPE);

  /** Fetches the dump from the ADS server at {@code xdsPort} as a proxyless gRPC client ({@code grpc-java}). */
  static XdsDump fetch(int xdsPort) throws Exception {
    return fetch(xdsPort, "grpc-java");
  }

  /** The same as a client of another kind: {@code envoy} gets what Envoy sidecars get. */
  static XdsDump fetch(int xdsPort, String userAgentName) throws Exception {
    Node node = Node.newBuilder().setId("issue9-dump").setCluster("protomatch-it").setUserAgentName(userAgentName)
        .build();
    ManagedChannel channel = Grpc.newChannelBuilderForAddress("127.0.0.1", xdsPort, InsecureChannelCredentials.create())
        .build();
    Map<String, DiscoveryResponse> first = new ConcurrentHashMap<>();
    CountDownLatch all = new CountDownLatch(TYPES.size());
    try {
      StreamObserver<DiscoveryRequest> requests = AggregatedDiscoveryServiceGrpc.newStub(channel)
          .streamAggregatedResources(new StreamObserver<>() {
            @Override
            public void onNext(DiscoveryResponse response) {
              if (first.putIfAbsent(response.getTypeUrl(), response) == null) {
                all.countDown();
              }
            }

            @Override
            public void onError(Throwable t) {
              // the latch times out; the message below names what is missing
            }

            @Override
            public void onCompleted() {}
          });
      for (String type : TYPES) {
        requests.onNext(DiscoveryRequest.newBuilder().setNode(node).setTypeUrl(type).build());
      }
      if (!all.await(15, TimeUnit.SECONDS)) {
        throw new AssertionError("ADS server on port " + xdsPort + " answered only " + first.keySet());
      }
      requests.onCompleted();
    } finally {
      channel.shutdownNow();
    }
    Map<String, String> resources = new TreeMap<>();
    Set<Integer> ports = new TreeSet<>();
    for (DiscoveryResponse response : first.values()) {
      String type = response.getTypeUrl().substring(response.getTypeUrl().lastIndexOf('.') + 1);
      resources.put(type + " version", response.getVersionInfo());
      for (Any resource : response.getResourcesList()) {
        String name = nameOf(response.getTypeUrl(), resource);
        resources.put(type + " " + name, HexFormat.of().formatHex(resource.getValue().toByteArray()));
        if (response.getTypeUrl().equals(AdsClient.ENDPOINT_TYPE)) {
          for (LocalityLbEndpoints locality : resource.unpack(ClusterLoadAssignment.class).getEndpointsList()) {
            for (LbEndpoint endpoint : locality.getLbEndpointsList()) {
              ports.add(endpoint.getEndpoint().getAddress().getSocketAddress().getPortValue());
            }
          }
        }
      }
    }
    return new XdsDump(resources, ports);
  }

  private static String nameOf(String type, Any resource) throws Exception {
    return switch (type) {
      case LISTENER -> resource.unpack(io.envoyproxy.envoy.config.listener.v3.Listener.class).getName();
      case ROUTE -> resource.unpack(io.envoyproxy.envoy.config.route.v3.RouteConfiguration.class).getName();
      case AdsClient.CLUSTER_TYPE -> resource.unpack(io.envoyproxy.envoy.config.cluster.v3.Cluster.class).getName();
      default -> resource.unpack(ClusterLoadAssignment.class).getClusterName();
    };
  }
}
