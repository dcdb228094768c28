package dev.protomatch.admin;

import static org.assertj.core.api.Assertions.assertThat;

import dev.protomatch.policy.ReloadOutcome;
import dev.protomatch.testing.PrometheusText;
import java.net.InetSocketAddress;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** {@code GET /metrics} on a real admin server: the exposition format a scraper asks for. */
class MetricsHandlerTest {
  private final HttpClient http = HttpClient.newHttpClient();
  private final ProtomatchMetrics metrics = new ProtomatchMetrics(List::of);
  private AdminServer admin;

  @BeforeEach
  void start() throws Exception {
    admin = AdminServer.start(new InetSocketAddress("127.0.0.1", 0), () -> true);
    new MetricsHandler(metrics.registry()).install(admin);
    metrics.policyReloaded(new ReloadOutcome(Instant.EPOCH, true, List.of()));
  }

  @AfterEach
  void stop() {
    admin.close();
  }

  @Test
  void servesThePrometheusTextFormatByDefault() throws Exception {
    HttpResponse<String> response = get("/metrics", null);

    assertThat(response.statusCode()).isEqualTo(200);
    assertThat(response.headers().firstValue("Content-Type")).contains("text/plain; version=0.0.4; charset=utf-8");
    assertThat(PrometheusText.parse(response.body())
        .value("protomatch_policy_reloads_total", Map.of("outcome", "accepted"))).hasValue(1);
  }

  @Test
  void servesOpenMetricsToAScraperThatAsksForIt() throws Exception {
    HttpResponse<String> response = get("/metrics",
        "application/openmetrics-text;version=1.0.0,text/plain;version=0.0.4;q=0.5");

    assertThat(response.headers().firstValue("Content-Type")).hasValueSatisfying(type ->
        assertThat(type).startsWith("application/openmetrics-text"));
    assertThat(response.body()).endsWith("# EOF\n");
  }

  @Test
  void refusesOtherMethodsAndPaths() throws Exception {
    HttpResponse<String> post = http.send(HttpRequest.newBuilder(uri("/metrics"))
        .POST(HttpRequest.BodyPublishers.noBody()).build(), HttpResponse.BodyHandlers.ofString());

    assertThat(post.statusCode()).isEqualTo(405);
    assertThat(get("/metricsx", null).statusCode()).isEqualTo(404);
  }

  private HttpResponse<String> get(String path, String accept) throws Exception {
    HttpRequest.Builder request = HttpRequest.newBuilder(uri(path)).GET();
    if (accept != null) {
      request.header("Accept", accept);
    }
    return http.send(request.build(), HttpResponse.BodyHandlers.ofString());
  }

  private URI uri(String path) {
    return URI.create("http://127.0.0.1:" + admin.port() + path);
  }
}
