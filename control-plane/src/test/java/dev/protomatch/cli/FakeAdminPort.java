package dev.protomatch.cli;

import com.sun.net.httpserver.HttpServer;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.util.HashMap;
import java.util.Map;

/**
 * An HTTP server on loopback answering the admin API's GET views with fixed JSON, for {@code status} tests of
 * states a running control plane reaches only slowly (refused snapshots, peers, labels). Views not given get a
 * minimal valid document.
 */
final class FakeAdminPort implements AutoCloseable {
  static final String SERVICES = """
      {"decided_at": "2026-11-26T00:00:00Z", "registry_version": 1, "services": []}""";
  static final String CLIENTS = """
      {"clients": []}""";
  static final String POLICIES = """
      {"source": "/etc/protomatch/policies.yaml", "version": 1, "loaded_at": "2026-11-26T00:00:00Z",
       "sha256": "%s", "services": []}""".formatted("b".repeat(64));
  static final String ENDPOINTS = """
      {"registry_version": 1, "endpoints": []}""";
  static final String REPLICAS = """
      {"replica": {"id": "a", "registry": "in-memory", "policy_sha256": "%s", "policy_version": 1,
                   "started_at": "2026-11-26T00:00:00Z"}, "policy_mismatches": 0, "peers": []}"""
      .formatted("b".repeat(64));

  private final HttpServer server;

  private FakeAdminPort(HttpServer server) {
    this.server = server;
  }

  /** Answers each path with its body (status 200); the views not in {@code bodies} with the defaults above. */
  static FakeAdminPort serving(Map<String, String> bodies) {
    return serving(bodies, Map.of());
  }

  /** As {@link #serving(Map)}, each path in {@code statuses} answering with that status instead of 200. */
  static FakeAdminPort serving(Map<String, String> bodies, Map<String, Integer> statuses) {
    Map<String, String> all = new HashMap<>(Map.of("/v1/services", SERVICES, "/v1/clients", CLIENTS,
        "/v1/policies", POLICIES, "/v1/endpoints", ENDPOINTS, "/v1/replicas", REPLICAS));
    all.putAll(bodies);
    try {
      HttpServer server = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 0);
      all.forEach((path, body) -> server.createContext(path, exchange -> {
        byte[] bytes = body.getBytes(StandardCharsets.UTF_8);
        exchange.getResponseHeaders().add("Content-Type", "application/json");
        exchange.sendResponseHeaders(statuses.getOrDefault(path, 200), bytes.length);
        exchange.getResponseBody().write(bytes);
        exchange.close();
      }));
      server.start();
      return new FakeAdminPort(server);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  String url() {
    return "http://127.0.0.1:" + server.getAddress().getPort();
  }

  @Override
  public void close() {
    server.stop(0);
  }
}
