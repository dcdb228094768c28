package dev.protomatch.admin;

import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpHandler;
import com.sun.net.httpserver.HttpServer;
import java.io.IOException;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.ConcurrentSkipListSet;
import java.util.function.BooleanSupplier;
import java.util.function.Supplier;

/**
 * The admin HTTP port: health and readiness for orchestrators; the operator's views are added by
 * {@link #handle(String, HttpHandler)}. Bound to loopback unless configured otherwise.
 *
 * <p>Each handler answers its exact path only; any other path is a JSON 404 ({@code {"status": 404, "error":
 * "..."}}) naming the paths there are.
 */
public final class AdminServer implements AutoCloseable {
  private final HttpServer server;
  private final ExecutorService executor;
  /** The paths handled; written by {@link #handle} (the starting thread), read by the server's threads. */
  private final Set<String> paths = new ConcurrentSkipListSet<>();

  private AdminServer(HttpServer server, ExecutorService executor) {
    this.server = server;
    this.executor = executor;
  }

  /** @param ready true once policies are loaded and the first snapshot is built */
  public static AdminServer start(InetSocketAddress address, BooleanSupplier ready) throws IOException {
    return start(address, () -> ready.getAsBoolean() ? Optional.empty() : Optional.of("starting"));
  }

  /**
   * @param notReadyBecause why the control plane cannot serve right now (shown by {@code /readyz} with a 503);
   *     empty when it is ready
   */
  public static AdminServer start(InetSocketAddress address, Supplier<Optional<String>> notReadyBecause)
      throws IOException {
    HttpServer server = HttpServer.create(address, 64);
    ExecutorService executor = Executors.newFixedThreadPool(2, runnable -> {
      Thread thread = new Thread(runnable, "protomatch-admin");
      thread.setDaemon(true);
      return thread;
    });
    server.setExecutor(executor);
    AdminServer admin = new AdminServer(server, executor);
    admin.handle("/", admin::notFound); // until a status page takes "/"
    admin.handle("/healthz", exchange -> respond(exchange, 200, "text/plain", "ok\n"));
    admin.handle("/readyz", exchange -> {
      Optional<String> why = notReadyBecause.get();
      respond(exchange, why.isEmpty() ? 200 : 503, "text/plain",
          why.map(reason -> "not ready: " + reason + "\n").orElse("ready\n"));
    });
    server.start();
    return admin;
  }

  /** Serves {@code path} (exactly: longer paths under it are 404) with {@code handler}, replacing any before. */
  public void handle(String path, HttpHandler handler) {
    if (!paths.add(path)) {
      server.removeContext(path);
    }
    server.createContext(path, exchange -> {
      if (exchange.getRequestURI().getPath().equals(path)) {
        handler.handle(exchange);
      } else {
        notFound(exchange);
      }
    });
  }

  private void notFound(HttpExchange exchange) throws IOException {
    respond(exchange, 404, "application/json", AdminJson.write(new AdminViews.Error(404,
        "no such path '" + exchange.getRequestURI().getPath() + "'; paths: " + String.join(", ", paths))));
  }

  public int port() {
    return server.getAddress().getPort();
  }

  public static void respond(HttpExchange exchange, int status, String contentType, String body) throws IOException {
    byte[] bytes = body.getBytes(StandardCharsets.UTF_8);
    exchange.getResponseHeaders().set("Content-Type", contentType + "; charset=utf-8");
    exchange.sendResponseHeaders(status, bytes.length);
    try (OutputStream out = exchange.getResponseBody()) {
      out.write(bytes);
    }
  }

  @Override
  public void close() {
    server.stop(0);
    executor.shutdownNow();
  }
}
