package dev.protomatch.it;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.protomatch.decision.ServiceDecision;
import dev.protomatch.demo.AlternatingCaller;
import dev.protomatch.testing.PrometheusText;
import dev.protomatch.testing.XdsClients;
import io.grpc.ManagedChannel;
import io.grpc.Status;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * {@code GET /metrics} of a real fleet, read as a Prometheus server reads it: one v1 and one v2 demo.Greeter
 * registered as real processes, probed, decided on and pushed to a grpc-java xDS client that makes calls.
 * The scrape is read by the Prometheus project's own text parser (the official Python client's) and,
 * for the detailed counts, by a strict Java reading of the same format ({@link PrometheusText}: no
 * maintained Java parser of the format is published on Maven Central).
 */
class MetricsTest {
  private static final Duration PATIENCE = Duration.ofSeconds(30);
  private static final String GREETER = "demo.Greeter";

  private static final HttpClient HTTP = HttpClient.newHttpClient();
  private static Fleet fleet;
  private static ManagedChannel channel;

  @BeforeAll
  static void startFleetAndCall() throws Exception {
    fleet = Fleet.start();
    fleet.startGreeter("v1", "metrics-v1");
    fleet.startGreeter("v2", "metrics-v2");
    fleet.awaitGreeterDecision(d -> d.included().size() == 1 && d.excluded().size() == 1
        && d.excluded().get(0).reason().code().equals("missing_methods")
        && d.outcome() == ServiceDecision.Outcome.QUALIFIED, PATIENCE);
    channel = XdsClients.channel(fleet.xdsPort(), "demo-greeter", "it-metrics");
    await().atMost(PATIENCE).until(() -> AlternatingCaller.run(channel, 2, 5_000).count(Status.Code.OK) == 2);
  }

  @AfterAll
  static void stopFleet() {
    if (channel != null) {
      channel.shutdownNow();
    }
    fleet.close();
  }

  /**
   * Prometheus's own parser (the official Python client's, from Debian's python3-prometheus-client, which
   * .ci/run installs) reads the scrape and finds the endpoint counts.
   */
  @Test
  void prometheusOwnTextParserReadsTheScrape() throws Exception {
    String script = String.join("\n",
        "import json, sys",
        "from prometheus_client.parser import text_string_to_metric_families",
        "for family in text_string_to_metric_families(sys.stdin.read()):",
        "    for s in family.samples:",
        "        print(json.dumps({'name': s.name, 'labels': s.labels, 'value': s.value}))");
    await().atMost(PATIENCE).untilAsserted(() -> {
      Process python = new ProcessBuilder("/usr/bin/python3", "-c", script).start();
      try (var stdin = python.getOutputStream()) {
        stdin.write(get().body().getBytes(java.nio.charset.StandardCharsets.UTF_8));
      }
      String out = new String(python.getInputStream().readAllBytes(), java.nio.charset.StandardCharsets.UTF_8);
      String err = new String(python.getErrorStream().readAllBytes(), java.nio.charset.StandardCharsets.UTF_8);
      assertThat(python.waitFor()).as("python3 prometheus_client parser (missing? run"
          + " integration-tests/install-test-tools.sh): %s", err).isZero();
      java.util.List<com.fasterxml.jackson.databind.JsonNode> samples = new java.util.ArrayList<>();
      for (String line : out.split("\n")) {
        if (!line.isBlank()) {
          samples.add(new com.fasterxml.jackson.databind.ObjectMapper().readTree(line));
        }
      }
      assertThat(samples).anySatisfy(sample -> {
        assertThat(sample.get("name").asText()).isEqualTo("protomatch_endpoints");
        assertThat(sample.get("labels").get("state").asText()).isEqualTo("excluded");
        assertThat(sample.get("labels").get("reason").asText()).isEqualTo("missing_methods");
        assertThat(sample.get("value").asDouble()).isEqualTo(1.0);
      });
      assertThat(samples).anySatisfy(sample -> {
        assertThat(sample.get("name").asText()).isEqualTo("protomatch_xds_connected_clients");
        assertThat(sample.get("value").asDouble()).isGreaterThanOrEqualTo(1.0);
      });
      assertThat(samples).anySatisfy(sample -> {
        assertThat(sample.get("name").asText()).isEqualTo("protomatch_registrations_total");
        assertThat(sample.get("labels").get("outcome").asText()).isEqualTo("accepted");
        assertThat(sample.get("value").asDouble()).isGreaterThanOrEqualTo(2.0);
      });
    });
  }

  @Test
  void servesTheTextFormat() throws Exception {
    HttpResponse<String> response = get();

    assertThat(response.statusCode()).isEqualTo(200);
    assertThat(response.headers().firstValue("Content-Type")).contains("text/plain; version=0.0.4; charset=utf-8");
  }

  @Test
  void endpointsAreCountedByStateAndReason() {
    await().atMost(PATIENCE).untilAsserted(() -> {
      PrometheusText.Scrape scrape = scrape();

      assertThat(scrape.value("protomatch_endpoints",
          Map.of("service", GREETER, "state", "excluded", "reason", "missing_methods"))).hasValue(1);
      assertThat(scrape.value("protomatch_endpoints", Map.of("service", GREETER, "state", "included", "reason", "")))
          .hasValue(1);
      assertThat(scrape.sum("protomatch_endpoints", Map.of("service", GREETER))).isEqualTo(2);
    });
  }

  @Test
  void probesRegistrationsAndPolicyLoadsAreCounted() {
    await().atMost(PATIENCE).untilAsserted(() -> {
      PrometheusText.Scrape scrape = scrape();

      assertThat(scrape.sum("protomatch_probes_total", Map.of("result", "ok"))).isGreaterThanOrEqualTo(2);
      assertThat(scrape.sum("protomatch_probe_duration_seconds_count", Map.of())).isGreaterThanOrEqualTo(2);
      assertThat(scrape.sum("protomatch_registrations_total", Map.of("outcome", "accepted"))).isGreaterThanOrEqualTo(2);
      assertThat(scrape.sum("protomatch_registrations_total", Map.of("outcome", "refused"))).isZero();
      assertThat(scrape.sum("protomatch_policy_reloads_total", Map.of("outcome", "accepted")))
          .isGreaterThanOrEqualTo(1);
    });
  }

  @Test
  void snapshotsPushesAndTheClientsAckAreCounted() {
    await().atMost(PATIENCE).untilAsserted(() -> {
      PrometheusText.Scrape scrape = scrape();

      assertThat(scrape.sum("protomatch_snapshot_builds_total", Map.of())).isGreaterThanOrEqualTo(1);
      assertThat(scrape.sum("protomatch_snapshot_build_seconds_count", Map.of())).isGreaterThanOrEqualTo(1);
      assertThat(scrape.sum("protomatch_xds_pushes_total", Map.of())).isPositive();
      assertThat(scrape.sum("protomatch_xds_pushes_total", Map.of("node_group", "proxyless", "type", "EDS")))
          .isPositive();
      assertThat(scrape.sum("protomatch_xds_connected_clients", Map.of())).isGreaterThanOrEqualTo(1);
      assertThat(scrape.sum("protomatch_xds_push_latency_seconds_count", Map.of())).isPositive();
      assertThat(scrape.sum("protomatch_xds_nacks_total", Map.of())).isZero();
    });
  }

  @Test
  void everyFamilyIsTypedAndDocumented() throws Exception {
    PrometheusText.Scrape scrape = scrape();

    assertThat(scrape.families()).isNotEmpty();
    assertThat(scrape.families().values()).allSatisfy(family -> {
      assertThat(family.name()).startsWith("protomatch_");
      assertThat(family.type()).as(family.name()).isIn("counter", "gauge", "histogram");
      assertThat(family.help()).as(family.name()).isPresent();
    });
  }

  private static PrometheusText.Scrape scrape() throws Exception {
    HttpResponse<String> response = get();
    assertThat(response.statusCode()).isEqualTo(200);
    return PrometheusText.parse(response.body());
  }

  private static HttpResponse<String> get() throws Exception {
    return HTTP.send(HttpRequest.newBuilder(
            URI.create("http://127.0.0.1:" + fleet.controlPlane().adminPort() + "/metrics")).GET().build(),
        HttpResponse.BodyHandlers.ofString());
  }
}
