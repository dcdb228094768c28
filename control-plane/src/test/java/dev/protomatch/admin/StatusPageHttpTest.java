package dev.protomatch.admin;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.protomatch.server.ControlPlane;
import dev.protomatch.server.ControlPlaneOptions;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Clock;
import java.time.Duration;
import java.util.Map;
import java.util.Optional;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** {@code GET /} on a running control plane's admin port, and the paths around it. */
class StatusPageHttpTest {
  private static final HttpClient HTTP = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();
  private static ControlPlane controlPlane;

  @BeforeAll
  static void start() throws Exception {
    controlPlane = ControlPlane.start(ControlPlaneOptions.loopbackDefaults(Optional.empty()).withPorts(0, 0, 0),
        Clock.systemUTC(), Map.<String, String>of()::get);
  }

  @AfterAll
  static void stop() {
    controlPlane.close();
  }

  @Test
  void rootServesTheStatusPageAsHtmlWithoutScripts() {
    HttpResponse<String> page = await().atMost(Duration.ofSeconds(10))
        .until(() -> send("GET", "/"), response -> response.statusCode() == 200);

    assertThat(page.headers().firstValue("Content-Type")).hasValue("text/html; charset=utf-8");
    assertThat(page.headers().firstValue("Content-Security-Policy")).hasValueSatisfying(csp ->
        assertThat(csp).startsWith("default-src 'none'"));
    assertThat(page.headers().firstValue("Cache-Control")).hasValue("no-store");
    assertThat(page.body()).contains("<meta http-equiv=\"refresh\" content=\"5\">")
        .contains("<dd id=\"policy-source\">")
        .contains("<dd id=\"xds-clients\" data-count=\"0\">");
  }

  @Test
  void otherPathsStillAnswerAsBefore() throws Exception {
    assertThat(send("GET", "/nope").statusCode()).isEqualTo(404);
    assertThat(send("GET", "/index.html").statusCode()).isEqualTo(404);
    assertThat(send("POST", "/").statusCode()).isEqualTo(405);
    assertThat(send("GET", "/healthz").statusCode()).isEqualTo(200);
    HttpResponse<String> policies = send("GET", "/v1/policies");
    assertThat(policies.statusCode()).isEqualTo(200);
    assertThat(policies.headers().firstValue("Content-Type")).hasValue("application/json; charset=utf-8");
  }

  @Test
  void replicasViewShowsThisReplicaAloneOnTheInMemoryRegistry() throws Exception {
    HttpResponse<String> response = send("GET", "/v1/replicas");
    assertThat(response.statusCode()).isEqualTo(200);
    var json = AdminJson.mapper().readTree(response.body());
    assertThat(json.get("replica").get("registry").asText()).isEqualTo("in-memory");
    assertThat(json.get("replica").get("id").asText()).isEqualTo(ControlPlaneOptions.defaultReplicaId());
    assertThat(json.get("replica").get("policy_sha256").asText())
        .isEqualTo(controlPlane.policies().current().sha256());
    assertThat(json.get("replica").has("applied_revision")).isFalse();
    assertThat(json.get("peers").size()).isZero();
    assertThat(json.get("policy_mismatches").asInt()).isZero();
    assertThat(send("GET", "/").body()).contains("<section id=\"replicas\" data-registry=\"in-memory\"");
    String metrics = send("GET", "/metrics").body();
    assertThat(metrics).contains("\nprotomatch_replica_policy_mismatches 0.0\n")
        .doesNotContain("protomatch_registry_applied_revision");
  }

  private static HttpResponse<String> send(String method, String path) throws Exception {
    return HTTP.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + controlPlane.adminPort() + path))
        .method(method, HttpRequest.BodyPublishers.noBody()).timeout(Duration.ofSeconds(10)).build(),
        HttpResponse.BodyHandlers.ofString());
  }
}
