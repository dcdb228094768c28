package dev.protomatch.testing;

import io.grpc.Grpc;
import io.grpc.InsecureChannelCredentials;
import io.grpc.ManagedChannel;
import io.grpc.xds.XdsNameResolverProvider;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * Real grpc-java xDS clients (grpc-xds) pointed at a control plane on loopback. Each channel gets its own
 * bootstrap and URI scheme, so one test JVM can hold clients of several control planes at once.
 */
public final class XdsClients {
  private static final AtomicInteger SCHEMES = new AtomicInteger();

  private XdsClients() {}

  /** The bootstrap a proxyless client would read from GRPC_XDS_BOOTSTRAP. */
  public static Map<String, ?> bootstrap(int xdsPort, String nodeId) {
    return Map.of(
        "xds_servers", List.of(Map.of(
            "server_uri", "127.0.0.1:" + xdsPort,
            "channel_creds", List.of(Map.of("type", "insecure")),
            "server_features", List.of("xds_v3"))),
        "node", Map.of("id", nodeId, "cluster", "protomatch-tests"));
  }

  /** A bootstrap listing these control planes' xDS servers in order (gRFC A71 fallback among them). */
  public static Map<String, ?> bootstrap(List<String> serverUris, String nodeId) {
    return Map.of(
        "xds_servers", serverUris.stream().map(uri -> Map.of(
            "server_uri", uri,
            "channel_creds", List.of(Map.of("type", "insecure")),
            "server_features", List.of("xds_v3"))).toList(),
        "node", Map.of("id", nodeId, "cluster", "protomatch-tests"));
  }

  /** A channel to {@code xds:///<target>} with this bootstrap. */
  @SuppressWarnings("deprecation") // nameResolverFactory is how a channel gets a private resolver with its own bootstrap
  public static ManagedChannel channel(Map<String, ?> bootstrap, String target) {
    String scheme = "xds-test-" + SCHEMES.incrementAndGet();
    XdsNameResolverProvider provider = XdsNameResolverProvider.createForTest(scheme, bootstrap);
    return Grpc.newChannelBuilder(scheme + ":///" + target, InsecureChannelCredentials.create())
        .nameResolverFactory(provider)
        .build();
  }

  /** A channel to {@code xds:///<target>} through the control plane at {@code xdsPort}. */
  @SuppressWarnings("deprecation") // nameResolverFactory is how a channel gets a private resolver with its own bootstrap
  public static ManagedChannel channel(int xdsPort, String target, String nodeId) {
    String scheme = "xds-test-" + SCHEMES.incrementAndGet();
    XdsNameResolverProvider provider = XdsNameResolverProvider.createForTest(scheme, bootstrap(xdsPort, nodeId));
    return Grpc.newChannelBuilder(scheme + ":///" + target, InsecureChannelCredentials.create())
        .nameResolverFactory(provider)
        .build();
  }
}
