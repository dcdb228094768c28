package dev.protomatch.envoyconfig;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.tuple;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.dataformat.yaml.YAMLMapper;
import com.google.protobuf.Descriptors.Descriptor;
import com.google.protobuf.InvalidProtocolBufferException;
import com.google.protobuf.util.Durations;
import com.google.protobuf.util.JsonFormat;
import dev.protomatch.server.ControlPlaneOptions;
import io.envoyproxy.envoy.config.bootstrap.v3.Bootstrap;
import io.envoyproxy.envoy.config.cluster.v3.Cluster;
import io.envoyproxy.envoy.config.core.v3.ApiConfigSource;
import io.envoyproxy.envoy.config.core.v3.ApiVersion;
import io.envoyproxy.envoy.config.core.v3.ConfigSource;
import io.envoyproxy.envoy.config.core.v3.GrpcService;
import io.envoyproxy.envoy.config.core.v3.Http2ProtocolOptions;
import io.envoyproxy.envoy.config.core.v3.SocketAddress;
import io.envoyproxy.envoy.config.endpoint.v3.LbEndpoint;
import io.envoyproxy.envoy.config.endpoint.v3.LocalityLbEndpoints;
import io.envoyproxy.envoy.extensions.upstreams.http.v3.HttpProtocolOptions;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.TreeSet;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * The Envoy bootstraps next to the pom (every {@code *.yaml} but {@code policies.yaml}) are Envoy v3
 * bootstraps that connect a sidecar to protomatch. Each is read strictly, as Envoy reads it: YAML turned
 * into JSON, then the proto3 JSON parser, which refuses unknown fields and unknown {@code typed_config}
 * types.
 */
class EnvoyBootstrapTest {
  static final Path SIDECAR = Path.of("envoy-sidecar.yaml");
  static final Path SIDECAR_DELTA = Path.of("envoy-sidecar-delta.yaml");
  /** Where {@code protomatch serve} listens for xDS unless told otherwise. */
  static final ControlPlaneOptions PROTOMATCH_DEFAULTS = ControlPlaneOptions.loopbackDefaults(Optional.empty());
  static final String HTTP_PROTOCOL_OPTIONS = "envoy.extensions.upstreams.http.v3.HttpProtocolOptions";
  /** XdsServer's permitKeepAliveTime: a client pinging more often is disconnected. */
  static final long PROTOMATCH_MIN_KEEPALIVE_SECONDS = 10;

  /** The typed_config / Any types the bootstraps use; the parser refuses others. */
  static final List<Descriptor> ANY_TYPES = List.of(HttpProtocolOptions.getDescriptor());

  private static final YAMLMapper YAML = new YAMLMapper();
  private static final ObjectMapper JSON = new ObjectMapper();
  private static final JsonFormat.Parser PARSER = JsonFormat.parser().usingTypeRegistry(
      JsonFormat.TypeRegistry.newBuilder().add(ANY_TYPES).build());

  static List<Path> bootstraps() throws IOException {
    try (Stream<Path> files = Files.list(Path.of(""))) {
      return files.filter(file -> file.getFileName().toString().endsWith(".yaml"))
          .filter(file -> !file.equals(ExamplePolicyTest.EXAMPLE))
          .sorted()
          .toList();
    }
  }

  static Bootstrap parse(Path file) throws IOException {
    return parse(Files.readString(file));
  }

  static Bootstrap parse(String yaml) throws IOException {
    Bootstrap.Builder bootstrap = Bootstrap.newBuilder();
    PARSER.merge(JSON.writeValueAsString(YAML.readTree(yaml)), bootstrap);
    return bootstrap.build();
  }

  private static Cluster staticCluster(Bootstrap bootstrap, String name) {
    return bootstrap.getStaticResources().getClustersList().stream()
        .filter(cluster -> cluster.getName().equals(name))
        .findFirst()
        .orElseThrow(() -> new AssertionError("no static cluster named '" + name + "'"));
  }

  private static Cluster controlPlaneCluster(Bootstrap bootstrap) {
    return staticCluster(bootstrap,
        bootstrap.getDynamicResources().getAdsConfig().getGrpcServices(0).getEnvoyGrpc().getClusterName());
  }

  @Test
  void bootstrapsAreEveryYamlFileButThePolicies() throws IOException {
    assertThat(bootstraps())
        .contains(SIDECAR, SIDECAR_DELTA)
        .doesNotContain(ExamplePolicyTest.EXAMPLE);
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("bootstraps")
  void adsStreamGoesToTheControlPlaneClusterDefinedStatically(Path file) throws IOException {
    Bootstrap bootstrap = parse(file);
    ApiConfigSource ads = bootstrap.getDynamicResources().getAdsConfig();

    assertThat(ads.getApiType()).isIn(ApiConfigSource.ApiType.GRPC, ApiConfigSource.ApiType.DELTA_GRPC);
    assertThat(ads.getTransportApiVersion()).isEqualTo(ApiVersion.V3);
    assertThat(ads.getGrpcServicesList()).extracting(GrpcService::getEnvoyGrpc)
        .extracting(GrpcService.EnvoyGrpc::getClusterName)
        .containsExactly("protomatch_xds");
    assertThat(bootstrap.getStaticResources().getClustersList()).extracting(Cluster::getName)
        .containsExactly("protomatch_xds");
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("bootstraps")
  void controlPlaneClusterTargetsProtomatchsDefaultXdsAddress(Path file) throws IOException {
    Cluster cluster = controlPlaneCluster(parse(file));

    assertThat(cluster.getType()).isIn(Cluster.DiscoveryType.STATIC, Cluster.DiscoveryType.STRICT_DNS);
    assertThat(cluster.getLoadAssignment().getEndpointsList())
        .flatExtracting(LocalityLbEndpoints::getLbEndpointsList)
        .extracting(LbEndpoint::getEndpoint)
        .extracting(endpoint -> endpoint.getAddress().getSocketAddress())
        .extracting(SocketAddress::getAddress, SocketAddress::getPortValue)
        .containsExactly(tuple(
            PROTOMATCH_DEFAULTS.bindHost(), PROTOMATCH_DEFAULTS.xdsPort()));
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("bootstraps")
  void controlPlaneClusterSpeaksHttp2(Path file) throws IOException {
    Cluster cluster = controlPlaneCluster(parse(file));

    HttpProtocolOptions options = cluster.getTypedExtensionProtocolOptionsOrThrow(HTTP_PROTOCOL_OPTIONS)
        .unpack(HttpProtocolOptions.class);

    assertThat(options.getExplicitHttpConfig().hasHttp2ProtocolOptions()).isTrue();
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("bootstraps")
  void keepalivePingsAreNoMoreFrequentThanProtomatchAccepts(Path file) throws IOException {
    Http2ProtocolOptions http2 = controlPlaneCluster(parse(file))
        .getTypedExtensionProtocolOptionsOrThrow(HTTP_PROTOCOL_OPTIONS).unpack(HttpProtocolOptions.class)
        .getExplicitHttpConfig().getHttp2ProtocolOptions();

    assertThat(http2.hasConnectionKeepalive()).isTrue();
    assertThat(Durations.toSeconds(http2.getConnectionKeepalive().getInterval()))
        .isGreaterThanOrEqualTo(PROTOMATCH_MIN_KEEPALIVE_SECONDS);
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("bootstraps")
  void nodeHasAnIdAndACluster(Path file) throws IOException {
    Bootstrap bootstrap = parse(file);

    assertThat(bootstrap.getNode().getId()).isNotBlank();
    assertThat(bootstrap.getNode().getCluster()).isNotBlank();
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("bootstraps")
  void listenersAndClustersComeOnlyFromAdsAsV3Resources(Path file) throws IOException {
    Bootstrap bootstrap = parse(file);
    // initial_fetch_timeout 0s: wait for protomatch's first answer (its warm-up is longer than Envoy's 15 s default)
    ConfigSource fromAds = ConfigSource.newBuilder()
        .setAds(io.envoyproxy.envoy.config.core.v3.AggregatedConfigSource.getDefaultInstance())
        .setResourceApiVersion(ApiVersion.V3)
        .setInitialFetchTimeout(com.google.protobuf.Duration.getDefaultInstance())
        .build();

    assertThat(bootstrap.getDynamicResources().getCdsConfig()).isEqualTo(fromAds);
    assertThat(bootstrap.getDynamicResources().getLdsConfig()).isEqualTo(fromAds);
    assertThat(bootstrap.getStaticResources().getListenersList()).isEmpty();
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("bootstraps")
  void adminListensOnLoopbackOnly(Path file) throws IOException {
    SocketAddress admin = parse(file).getAdmin().getAddress().getSocketAddress();

    assertThat(admin.getAddress()).isEqualTo("127.0.0.1");
    assertThat(admin.getPortValue()).isEqualTo(9901);
  }

  @Test
  void deltaBootstrapDiffersFromTheSidecarOnlyInApiType() throws IOException {
    Bootstrap sidecar = parse(SIDECAR);
    Bootstrap delta = parse(SIDECAR_DELTA);

    assertThat(sidecar.getDynamicResources().getAdsConfig().getApiType()).isEqualTo(ApiConfigSource.ApiType.GRPC);
    assertThat(delta.getDynamicResources().getAdsConfig().getApiType())
        .isEqualTo(ApiConfigSource.ApiType.DELTA_GRPC);
    Bootstrap.Builder deltaAsStateOfTheWorld = delta.toBuilder();
    deltaAsStateOfTheWorld.getDynamicResourcesBuilder().getAdsConfigBuilder()
        .setApiType(ApiConfigSource.ApiType.GRPC);
    assertThat(deltaAsStateOfTheWorld.build()).isEqualTo(sidecar);
  }

  @Test
  void typedConfigTypesAreExactlyTheRegisteredOnes() throws IOException {
    TreeSet<String> used = new TreeSet<>();
    for (Path file : bootstraps()) {
      collectTypeUrls(YAML.readTree(file.toFile()), used);
    }

    assertThat(used).containsExactlyInAnyOrderElementsOf(
        ANY_TYPES.stream().map(type -> "type.googleapis.com/" + type.getFullName()).toList());
  }

  @Test
  void misspelledFieldIsRefusedByName() {
    String yaml = """
        node: {id: sidecar-0, cluster: demo-caller}
        dynamic_resource:
          ads_config: {api_type: GRPC}
        """;

    assertThatThrownBy(() -> parse(yaml))
        .isInstanceOf(InvalidProtocolBufferException.class)
        .hasMessageContaining("dynamic_resource");
  }

  @Test
  void typedConfigOfAnUnregisteredTypeIsRefused() {
    String yaml = """
        static_resources:
          clusters:
            - name: protomatch_xds
              transport_socket:
                name: envoy.transport_sockets.tls
                typed_config:
                  "@type": type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.UpstreamTlsContext
                  sni: protomatch.example.internal
        """;

    assertThatThrownBy(() -> parse(yaml))
        .isInstanceOf(InvalidProtocolBufferException.class)
        .hasMessageContaining("envoy.extensions.transport_sockets.tls.v3.UpstreamTlsContext");
  }

  private static void collectTypeUrls(JsonNode node, TreeSet<String> into) {
    if (node.has("@type")) {
      into.add(node.get("@type").asText());
    }
    List<JsonNode> children = new ArrayList<>();
    node.elements().forEachRemaining(children::add);
    children.forEach(child -> collectTypeUrls(child, into));
  }
}
