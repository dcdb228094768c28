package dev.protomatch.admin;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import dev.protomatch.server.ControlPlane;
import dev.protomatch.server.ControlPlaneOptions;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code GET /v1/policies} on a running control plane shows each service's data-plane keys as in force: the
 * values of the policy file, and the defaults of keys the file leaves out.
 */
class PoliciesViewHttpTest {
  private static final HttpClient HTTP = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();
  private static final List<String> DATA_PLANE_FIELDS =
      List.of("max_timeout", "circuit_breakers", "retries", "upstream_tls", "outlier_detection");

  @TempDir
  Path dir;

  @Test
  void everyDataPlaneKeyIsShownAsInForce() throws Exception {
    Path file = Files.writeString(dir.resolve("policies.yaml"), """
        settings:
          auth:
            insecure: true
        services:
          - service: shop.Checkout
            cluster: checkout
            expect: newest
            max-timeout: 90s
            circuit-breakers: {max-requests: 500}
            retries:
              retry-on: [connect-failure, refused-stream]
              max-retries: 1
              budget-percent: 20
              without-retries: [Refund, Charge]
            upstream-tls: {ca-file: /etc/protomatch/ca.pem, sni: checkout.internal}
            outlier-detection: {consecutive-errors: 7, base-ejection-time: 1m}
          - service: demo.Greeter
            cluster: demo-greeter
            expect: newest
        """);

    JsonNode services;
    try (ControlPlane controlPlane = ControlPlane.start(
        ControlPlaneOptions.loopbackDefaults(Optional.of(file)).withPorts(0, 0, 0), Clock.systemUTC(),
        Map.<String, String>of()::get)) {
      HttpResponse<String> response = HTTP.send(HttpRequest.newBuilder(
              URI.create("http://127.0.0.1:" + controlPlane.adminPort() + "/v1/policies"))
          .timeout(Duration.ofSeconds(10)).build(), HttpResponse.BodyHandlers.ofString());
      assertThat(response.statusCode()).isEqualTo(200);
      services = AdminJson.mapper().readTree(response.body()).get("services");
    }

    assertThat(services).hasSize(2);
    assertThat(dataPlane(services.get(0))).isEqualTo(json("""
        {
          "max_timeout": "90s",
          "circuit_breakers": {"max_connections": 2147483647, "max_pending_requests": 2147483647, "max_requests": 500},
          "retries": {"enabled": true, "retry_on": ["connect-failure", "refused-stream"], "max_retries": 1,
                      "budget_percent": 20, "without_retries": ["Charge", "Refund"]},
          "upstream_tls": {"ca_file": "/etc/protomatch/ca.pem", "sni": "checkout.internal"},
          "outlier_detection": {"consecutive_errors": 7, "consecutive_gateway_errors": 5, "base_ejection_time": "1m",
                                "max_ejection_percent": 10}
        }
        """));
    // Defaults: no max timeout, TLS or outlier detection (left out), unlimited breakers, safe retries for all.
    assertThat(dataPlane(services.get(1))).isEqualTo(json("""
        {
          "circuit_breakers": {"max_connections": 2147483647, "max_pending_requests": 2147483647,
                               "max_requests": 2147483647},
          "retries": {"enabled": true, "retry_on": ["connect-failure", "refused-stream", "unavailable"],
                      "max_retries": 2, "without_retries": []}
        }
        """));
  }

  /** The service's data-plane fields only. */
  private static JsonNode dataPlane(JsonNode service) {
    var out = AdminJson.mapper().createObjectNode();
    DATA_PLANE_FIELDS.forEach(name -> {
      if (service.has(name)) {
        out.set(name, service.get(name));
      }
    });
    return out;
  }

  private static JsonNode json(String text) throws Exception {
    return AdminJson.mapper().readTree(text);
  }
}
