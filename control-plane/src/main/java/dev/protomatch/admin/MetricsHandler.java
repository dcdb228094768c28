package dev.protomatch.admin;

import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpHandler;
import io.prometheus.metrics.expositionformats.ExpositionFormatWriter;
import io.prometheus.metrics.expositionformats.ExpositionFormats;
import io.prometheus.metrics.model.registry.PrometheusRegistry;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.OutputStream;

/**
 * {@code GET /metrics}: the registry in the format the scraper asks for in its {@code Accept} header
 * (Prometheus text 0.0.4 by default; OpenMetrics text or Prometheus protobuf on request), written by
 * client_java's own exposition writers.
 */
public final class MetricsHandler implements HttpHandler {
  private final PrometheusRegistry registry;
  private final ExpositionFormats formats = ExpositionFormats.init();

  public MetricsHandler(PrometheusRegistry registry) {
    this.registry = registry;
  }

  public void install(AdminServer server) {
    server.handle("/metrics", this);
  }

  @Override
  public void handle(HttpExchange exchange) throws IOException {
    if (!exchange.getRequestURI().getPath().equals("/metrics")) {
      AdminServer.respond(exchange, 404, "text/plain", "not found\n");
      return;
    }
    if (!exchange.getRequestMethod().equals("GET")) {
      AdminServer.respond(exchange, 405, "text/plain", "use GET /metrics\n");
      return;
    }
    ExpositionFormatWriter writer = formats.findWriter(exchange.getRequestHeaders().getFirst("Accept"));
    ByteArrayOutputStream body = new ByteArrayOutputStream(8192);
    writer.write(body, registry.scrape());
    exchange.getResponseHeaders().set("Content-Type", writer.getContentType());
    exchange.sendResponseHeaders(200, body.size());
    try (OutputStream out = exchange.getResponseBody()) {
      body.writeTo(out);
    }
  }
}
