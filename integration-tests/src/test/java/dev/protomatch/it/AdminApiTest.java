package dev.protomatch.it;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.protomatch.demo.AlternatingCaller;
import dev.protomatch.demo.ProtomatchProcess;
import dev.protomatch.testing.XdsClients;
import dev.protomatch.xds.NodeKind;
import io.envoyproxy.controlplane.cache.v3.Snapshot;
import io.envoyproxy.envoy.config.cluster.v3.Cluster;
import io.grpc.ManagedChannel;
import io.grpc.Status;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.time.Duration;
import java.util.List;
import java.util.stream.StreamSupport;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestMethodOrder;

/**
 * The operator's view of a running fleet, over the admin port, as curl would see it. The NACK scenario
 * runs last: afterwards the client's record rightly keeps the rejected version as the last one sent.
 */
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class AdminApiTest {
  private static final String CLIENT_NODE = "it-admin-grpc-java";
  private static final ObjectMapper JSON = new ObjectMapper();
  private static final HttpClient HTTP = HttpClient.newHttpClient();

  private static Fleet fleet;
  private static ProtomatchProcess stale;
  private static ProtomatchProcess current;
  private static ManagedChannel channel;

  @BeforeAll
  static void startFleet() throws Exception {
    fleet = Fleet.start();
    stale = fleet.startGreeter("v1", "old-v1");
    current = fleet.startGreeter("v2", "new-v2");
    fleet.awaitGreeterDecision(d -> d.included().size() == 1 && d.excluded().size() == 1, Duration.ofSeconds(30));
    channel = XdsClients.channel(fleet.xdsPort(), "demo-greeter", CLIENT_NODE);
    await().atMost(Duration.ofSeconds(30)).until(() -> AlternatingCaller.run(channel, 2, 2_000).count(Status.Code.OK) == 2);
  }

  @AfterAll
  static void stopFleet() {
    channel.shutdownNow();
    fleet.close();
  }

  @Test
  void servicesShowStaleBuildExcludedWithReasonAndMissingMethods() throws Exception {
    JsonNode greeter = get("/v1/services").get("services").get(0);

    assertThat(greeter.get("service").asText()).isEqualTo("demo.Greeter");
    assertThat(greeter.get("expected").get("methods")).extracting(JsonNode::asText)
        .containsExactly("SayHello", "SayHelloAgain");
    JsonNode excluded = greeter.get("excluded").get(0);
    assertThat(excluded.get("address").asText()).isEqualTo("127.0.0.1:" + stale.port());
    assertThat(excluded.get("reason_code").asText()).isEqualTo("missing_methods");
    assertThat(excluded.get("reason").asText()).isEqualTo("missing methods [SayHelloAgain]");
    assertThat(greeter.get("included").get(0).get("address").asText()).isEqualTo("127.0.0.1:" + current.port());
    // methods: [SayHello, SayHelloAgain] admits only builds serving both, for every method.
    assertThat(greeter.get("methods").get("SayHello")).extracting(JsonNode::asText)
        .containsExactly("127.0.0.1:" + current.port());
  }

  @Test
  void endpointsShowAdvertisedAndProbedBuildsAndLeases() throws Exception {
    JsonNode endpoints = get("/v1/endpoints").get("endpoints");

    assertThat(endpoints).hasSize(2).allSatisfy(endpoint -> {
      assertThat(endpoint.get("source").asText()).isEqualTo("registration");
      assertThat(endpoint.get("probe").get("state").asText()).isEqualTo("ok");
      assertThat(endpoint.get("lease").get("expired").asBoolean()).isFalse();
      assertThat(endpoint.has("lease_id")).isFalse();
      JsonNode greeter = endpoint.get("services").get(0);
      assertThat(greeter.get("advertised_api").asText()).startsWith("sha256:").isEqualTo(greeter.get("probed_api").asText());
    });
  }

  @Test
  void clientsShowRealGrpcJavaClientWithAckedVersions() throws Exception {
    JsonNode client = client(get("/v1/clients"), CLIENT_NODE);

    assertThat(client.get("protocol").asText()).isEqualTo("sotw");
    for (String type : List.of("listeners", "routes", "clusters", "endpoints")) {
      JsonNode resources = client.get("resources").get(type);
      assertThat(resources.get("acked_version").asText()).as(type).isNotEmpty().isEqualTo(resources.get("sent_version").asText());
    }
  }

  @Test
  @Order(Integer.MAX_VALUE)
  void clientsShowNackOfAnInvalidResourceWithTheClientsErrorText() throws Exception {
    var cache = fleet.controlPlane().snapshotCache();
    Snapshot good = cache.getSnapshot(NodeKind.PROXYLESS.group());
    Cluster invalid = good.clusters().resources().get("demo-greeter").toBuilder()
        .setType(Cluster.DiscoveryType.STATIC).build();  // grpc-java supports EDS and LOGICAL_DNS clusters only
    java.util.Map<String, Cluster> clusters = new java.util.TreeMap<>(good.clusters().resources());
    clusters.put("demo-greeter", invalid); // ADS answers only with every requested cluster present
    cache.setSnapshot(NodeKind.PROXYLESS.group(), Snapshot.create(
        clusters.values(), "invalid-1",
        good.endpoints().resources().values(), good.endpoints().version(),
        good.listeners().resources().values(), good.listeners().version(),
        good.routes().resources().values(), good.routes().version(),
        List.of(), "0"));
    try {
      JsonNode nack = await().atMost(Duration.ofSeconds(20)).until(() -> client(get("/v1/clients"), CLIENT_NODE)
          .get("resources").get("clusters").get("last_nack"), node -> node != null);

      Reports.append("nack", "grpc-java NACK seen at /v1/clients: " + nack);
      assertThat(nack.get("version").asText()).isEqualTo("invalid-1");
      assertThat(nack.get("error_detail").asText()).contains("demo-greeter");
      assertThat(AlternatingCaller.run(channel, 2, 2_000).count(Status.Code.OK)).isEqualTo(2); // still served
    } finally {
      cache.setSnapshot(NodeKind.PROXYLESS.group(), good);
    }
  }

  @Test
  void reloadWithoutTokenIsRefused() throws Exception {
    HttpResponse<String> response = post("/v1/policies:reload", null);

    assertThat(response.statusCode()).isEqualTo(401);
    assertThat(JSON.readTree(response.body()).get("error").asText())
        .isEqualTo("missing admin token: send 'Authorization: Bearer <token>'");
  }

  @Test
  void reloadWithWrongTokenIsRefused() throws Exception {
    assertThat(post("/v1/policies:reload", "guess").statusCode()).isEqualTo(401);
  }

  @Test
  void reloadWithTokenAppliesTheFileAndRefusesABadEditKeepingTheLastGoodPolicy() throws Exception {
    long version = get("/v1/policies").get("version").asLong();
    String good = Files.readString(fleet.policyFile());
    assertThat(post("/v1/policies:reload", fleet.adminToken()).statusCode()).isEqualTo(200);

    Files.writeString(fleet.policyFile(), good.replace("cluster: demo-greeter", "clustr: demo-greeter"));
    try {
      HttpResponse<String> refused = post("/v1/policies:reload", fleet.adminToken());

      assertThat(refused.statusCode()).isEqualTo(422);
      JsonNode policies = get("/v1/policies");
      assertThat(policies.get("version").asLong()).isEqualTo(version);
      assertThat(policies.get("last_reload").get("accepted").asBoolean()).isFalse();
      assertThat(policies.get("last_reload").get("errors")).extracting(JsonNode::asText)
          .anySatisfy(error -> assertThat(error).startsWith(fleet.policyFile() + ":").contains("unknown key 'clustr'"));
      assertThat(policies.get("services").get(0).get("cluster").asText()).isEqualTo("demo-greeter");
    } finally {
      Files.writeString(fleet.policyFile(), good);
      assertThat(post("/v1/policies:reload", fleet.adminToken()).statusCode()).isEqualTo(200);
    }
  }

  @Test
  void statusCommandShowsTheSameViewAsTables() {
    java.io.StringWriter out = new java.io.StringWriter();
    picocli.CommandLine cli = dev.protomatch.cli.Main.commandLine();
    cli.setOut(new java.io.PrintWriter(out));

    int exit = cli.execute("status", "--admin", "http://127.0.0.1:" + fleet.controlPlane().adminPort());

    assertThat(exit).isZero();
    assertThat(out.toString().lines()).anySatisfy(line -> assertThat(line).startsWith("demo.Greeter")
            .contains("127.0.0.1:" + stale.port(), "excluded", "sha256:6088e17f..", "missing methods [SayHelloAgain]"))
        .anySatisfy(line -> assertThat(line).contains("127.0.0.1:" + current.port(), "included"))
        .anySatisfy(line -> assertThat(line).startsWith(CLIENT_NODE).contains("sotw", "SYNCED v"));
    Reports.append("status", "protomatch status:\n" + out);
  }

  @Test
  void healthAndReadiness() throws Exception {
    assertThat(HTTP.send(request("/healthz").build(), HttpResponse.BodyHandlers.ofString()).statusCode()).isEqualTo(200);
    assertThat(HTTP.send(request("/readyz").build(), HttpResponse.BodyHandlers.ofString()).statusCode()).isEqualTo(200);
  }

  private static JsonNode client(JsonNode clients, String nodeId) {
    return StreamSupport.stream(clients.get("clients").spliterator(), false)
        .filter(c -> c.get("node_id").asText().equals(nodeId)).findFirst().orElseThrow();
  }

  private static JsonNode get(String path) throws Exception {
    HttpResponse<String> response = HTTP.send(request(path).build(), HttpResponse.BodyHandlers.ofString());
    assertThat(response.statusCode()).as(path + ": " + response.body()).isEqualTo(200);
    assertThat(response.headers().firstValue("Content-Type")).hasValueSatisfying(t -> assertThat(t).startsWith("application/json"));
    return JSON.readTree(response.body());
  }

  private static HttpResponse<String> post(String path, String token) throws Exception {
    HttpRequest.Builder builder = request(path).POST(HttpRequest.BodyPublishers.noBody());
    if (token != null) {
      builder.header("Authorization", "Bearer " + token);
    }
    return HTTP.send(builder.build(), HttpResponse.BodyHandlers.ofString());
  }

  private static HttpRequest.Builder request(String path) {
    return HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + fleet.controlPlane().adminPort() + path));
  }
}
