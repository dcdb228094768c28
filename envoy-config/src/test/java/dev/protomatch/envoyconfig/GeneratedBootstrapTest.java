package dev.protomatch.envoyconfig;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.protomatch.bootstrap.Bootstraps;
import io.envoyproxy.envoy.config.bootstrap.v3.Bootstrap;
import io.envoyproxy.envoy.config.cluster.v3.Cluster;
import io.envoyproxy.envoy.config.core.v3.SocketAddress;
import org.junit.jupiter.api.Test;

/**
 * What {@code protomatch bootstrap} prints is the bootstrap next to the pom with the operator's values: the Envoy
 * one still reads strictly as an Envoy v3 bootstrap ({@link EnvoyBootstrapTest#parse}).
 */
class GeneratedBootstrapTest {
  private static final ObjectMapper JSON = new ObjectMapper();

  @Test
  void theEnvoyBootstrapCarriesTheGivenXdsAddressAndNode() throws Exception {
    Bootstrap bootstrap = EnvoyBootstrapTest.parse(Bootstraps.envoy(
        new Bootstraps.Target("10.1.2.3", 28000, "orders-7f9c", "orders")));

    assertThat(bootstrap.getNode().getId()).isEqualTo("orders-7f9c");
    assertThat(bootstrap.getNode().getCluster()).isEqualTo("orders");
    Cluster xds = xdsCluster(bootstrap);
    assertThat(xds.getType()).isEqualTo(Cluster.DiscoveryType.STATIC);
    assertThat(address(xds).getAddress()).isEqualTo("10.1.2.3");
    assertThat(address(xds).getPortValue()).isEqualTo(28000);
  }

  @Test
  void aHostNameMakesTheXdsClusterResolveItByDns() throws Exception {
    Bootstrap bootstrap = EnvoyBootstrapTest.parse(Bootstraps.envoy(
        new Bootstraps.Target("protomatch.infra.svc", 18000, "sidecar: \"quoted\"", "demo")));

    assertThat(xdsCluster(bootstrap).getType()).isEqualTo(Cluster.DiscoveryType.STRICT_DNS);
    assertThat(address(xdsCluster(bootstrap)).getAddress()).isEqualTo("protomatch.infra.svc");
    assertThat(bootstrap.getNode().getId()).isEqualTo("sidecar: \"quoted\"");
  }

  @Test
  void theProxylessBootstrapCarriesTheGivenXdsServerAndNode() throws Exception {
    JsonNode bootstrap = JSON.readTree(Bootstraps.proxyless(new Bootstraps.Target("::1", 18000, "caller-1", "billing")));

    assertThat(bootstrap.get("xds_servers").get(0).get("server_uri").asText()).isEqualTo("[::1]:18000");
    assertThat(bootstrap.get("node").get("id").asText()).isEqualTo("caller-1");
    assertThat(bootstrap.get("node").get("cluster").asText()).isEqualTo("billing");
    assertThat(bootstrap.get("xds_servers").get(0).get("server_features").get(0).asText()).isEqualTo("xds_v3");
  }

  private static Cluster xdsCluster(Bootstrap bootstrap) {
    String name = bootstrap.getDynamicResources().getAdsConfig().getGrpcServices(0).getEnvoyGrpc().getClusterName();
    return bootstrap.getStaticResources().getClustersList().stream().filter(c -> c.getName().equals(name))
        .findFirst().orElseThrow();
  }

  private static SocketAddress address(Cluster cluster) {
    return cluster.getLoadAssignment().getEndpoints(0).getLbEndpoints(0).getEndpoint().getAddress().getSocketAddress();
  }
}
