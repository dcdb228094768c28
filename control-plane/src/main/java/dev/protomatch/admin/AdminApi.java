package dev.protomatch.admin;

import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpHandler;
import dev.protomatch.decision.RoutingDecision;
import dev.protomatch.policy.PolicyFileWatcher;
import dev.protomatch.policy.PolicyStore;
import dev.protomatch.policy.ReloadOutcome;
import dev.protomatch.registry.EndpointRegistry;
import dev.protomatch.registry.RegistryState;
import dev.protomatch.xds.SnapshotPublisher;
import dev.protomatch.xds.XdsClientTracker;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.time.Clock;
import java.util.List;
import java.util.Optional;
import java.util.function.Supplier;

/**
 * The operator's read-only JSON views and HTML status page ({@code GET /}, see {@link StatusPage}), open on
 * the admin port (loopback unless configured otherwise), and the one state-changing call,
 * {@code POST /v1/policies:reload}, which needs the admin token.
 */
public final class AdminApi {
  private final Supplier<RoutingDecision> decision;
  private final EndpointRegistry registry;
  private final XdsClientTracker clients;
  private final Supplier<List<SnapshotPublisher.Rejection>> rejectedSnapshots;
  private final PolicyStore policies;
  private final Optional<PolicyFileWatcher> watcher;
  private final Optional<byte[]> adminToken;
  private final Clock clock;
  private final Supplier<ReplicaFacts> replicas;

  /** Without a view of refused snapshots (none is ever shown). */
  public AdminApi(Supplier<RoutingDecision> decision, EndpointRegistry registry, XdsClientTracker clients,
                  PolicyStore policies, Optional<PolicyFileWatcher> watcher, Optional<String> adminToken, Clock clock) {
    this(decision, registry, clients, List::of, policies, watcher, adminToken, clock);
  }

  /** {@code GET /v1/replicas} shows one replica named {@code local} on the in-memory registry, without peers. */
  public AdminApi(Supplier<RoutingDecision> decision, EndpointRegistry registry, XdsClientTracker clients,
                  Supplier<List<SnapshotPublisher.Rejection>> rejectedSnapshots, PolicyStore policies,
                  Optional<PolicyFileWatcher> watcher, Optional<String> adminToken, Clock clock) {
    this(decision, registry, clients, rejectedSnapshots, policies, watcher, adminToken, clock,
        constant(ReplicaFacts.inMemory("local", clock.instant())));
  }

  /**
   * @param rejectedSnapshots the node groups whose newest snapshot is refused ({@link SnapshotPublisher#rejections})
   * @param adminToken the bearer token {@code POST} calls need; empty refuses every state change
   * @param replicas this replica and its peers ({@code GET /v1/replicas}), read at each request
   */
  public AdminApi(Supplier<RoutingDecision> decision, EndpointRegistry registry, XdsClientTracker clients,
                  Supplier<List<SnapshotPublisher.Rejection>> rejectedSnapshots, PolicyStore policies,
                  Optional<PolicyFileWatcher> watcher, Optional<String> adminToken, Clock clock,
                  Supplier<ReplicaFacts> replicas) {
    this.decision = decision;
    this.registry = registry;
    this.clients = clients;
    this.rejectedSnapshots = rejectedSnapshots;
    this.policies = policies;
    this.watcher = watcher;
    this.adminToken = adminToken.map(t -> t.getBytes(StandardCharsets.UTF_8));
    this.clock = clock;
    this.replicas = replicas;
  }

  private static <T> Supplier<T> constant(T value) {
    return () -> value;
  }

  public void install(AdminServer server) {
    server.handle("/v1/services", get(() -> {
      RoutingDecision current = decision.get();
      return current == null ? error(503, "no decision yet: the control plane is starting")
          : AdminViewBuilder.services(current, registry.state());
    }));
    server.handle("/v1/endpoints", get(() -> AdminViewBuilder.endpoints(registry.state(), clock.instant())));
    server.handle("/v1/clients", get(() -> AdminViewBuilder.clients(clients.clients(), rejectedSnapshots.get())));
    server.handle("/v1/policies:reload", this::reload);
    server.handle("/v1/policies", get(() -> AdminViewBuilder.policies(policies.current(), policies.lastOutcome())));
    server.handle("/v1/replicas", get(() -> AdminViewBuilder.replicas(replicas.get(), policies.current())));
    server.handle("/", this::statusPage);
  }

  /**
   * {@code GET /}: {@link StatusPage}, from the same views as the JSON above. Any other unclaimed path is a
   * JSON 404 ({@link AdminServer#handle}).
   */
  private void statusPage(HttpExchange exchange) throws IOException {
    if (!exchange.getRequestMethod().equals("GET")) {
      exchange.getResponseHeaders().set("Allow", "GET");
      json(exchange, error(405, exchange.getRequestMethod() + " / is not supported (use GET)"));
      return;
    }
    RoutingDecision current = decision.get();
    RegistryState state = registry.state();
    String html = StatusPage.render(current == null ? null : AdminViewBuilder.services(current, state),
        AdminViewBuilder.endpoints(state, clock.instant()),
        AdminViewBuilder.policies(policies.current(), policies.lastOutcome()),
        AdminViewBuilder.clients(clients.clients(), rejectedSnapshots.get()),
        AdminViewBuilder.replicas(replicas.get(), policies.current()));
    exchange.getResponseHeaders().set("Cache-Control", "no-store");
    exchange.getResponseHeaders().set("X-Content-Type-Options", "nosniff");
    exchange.getResponseHeaders().set("Content-Security-Policy",
        "default-src 'none'; style-src 'unsafe-inline'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'");
    AdminServer.respond(exchange, current == null ? 503 : 200, "text/html", html);
  }

  private HttpHandler get(Supplier<Object> view) {
    return exchange -> {
      if (!exchange.getRequestMethod().equals("GET")) {
        json(exchange, error(405, exchange.getRequestMethod() + " " + exchange.getRequestURI().getPath()
            + " is not supported (use GET)"));
        return;
      }
      json(exchange, view.get());
    };
  }

  private void reload(HttpExchange exchange) throws IOException {
    if (!exchange.getRequestMethod().equals("POST")) {
      json(exchange, error(405, "use POST /v1/policies:reload"));
      return;
    }
    if (adminToken.isEmpty()) {
      json(exchange, error(403, "state changes are disabled: start protomatch with PROTOMATCH_ADMIN_TOKEN set"));
      return;
    }
    String header = exchange.getRequestHeaders().getFirst("Authorization");
    if (header == null || !header.startsWith("Bearer ")) {
      json(exchange, error(401, "missing admin token: send 'Authorization: Bearer <token>'"));
      return;
    }
    if (!MessageDigest.isEqual(header.substring("Bearer ".length()).trim().getBytes(StandardCharsets.UTF_8),
        adminToken.get())) {
      json(exchange, error(401, "invalid admin token"));
      return;
    }
    if (watcher.isEmpty()) {
      json(exchange, error(409, "no policy file to reload: protomatch runs on built-in defaults (serve --config FILE)"));
      return;
    }
    ReloadOutcome outcome = watcher.get().reloadNow();
    json(exchange, AdminViewBuilder.policies(policies.current(), Optional.of(outcome)), outcome.accepted() ? 200 : 422);
  }

  private static AdminViews.Error error(int status, String message) {
    return new AdminViews.Error(status, message);
  }

  private static void json(HttpExchange exchange, Object document) throws IOException {
    json(exchange, document, document instanceof AdminViews.Error e ? e.status() : 200);
  }

  private static void json(HttpExchange exchange, Object document, int status) throws IOException {
    AdminServer.respond(exchange, status, "application/json", AdminJson.write(document));
  }
}
