package dev.protomatch.admin;

import static org.assertj.core.api.Assertions.assertThat;

import java.net.InetSocketAddress;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.util.Optional;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** Paths nobody handles are JSON 404s naming the paths there are, as docs/admin-api.md promises. */
class AdminServerNotFoundTest {
  private final HttpClient http = HttpClient.newHttpClient();
  private AdminServer server;

  @BeforeEach
  void start() throws Exception {
    server = AdminServer.start(new InetSocketAddress("127.0.0.1", 0), () -> Optional.of("starting"));
  }

  @AfterEach
  void stop() {
    server.close();
  }

  @Test
  void anUnknownPathIsAJson404() throws Exception {
    HttpResponse<String> response = get("/nope");

    assertThat(response.statusCode()).isEqualTo(404);
    assertThat(response.headers().firstValue("Content-Type")).hasValue("application/json; charset=utf-8");
    assertThat(AdminJson.mapper().readValue(response.body(), AdminViews.Error.class))
        .isEqualTo(new AdminViews.Error(404, "no such path '/nope'; paths: /, /healthz, /readyz"));
  }

  @Test
  void aHandlerAnswersItsExactPathOnly() throws Exception {
    server.handle("/v1/things", exchange -> AdminServer.respond(exchange, 200, "text/plain", "things\n"));

    assertThat(get("/v1/things").body()).isEqualTo("things\n");
    assertThat(get("/v1/thingsx").statusCode()).isEqualTo(404);
    assertThat(AdminJson.mapper().readValue(get("/v1/things/1").body(), AdminViews.Error.class))
        .isEqualTo(new AdminViews.Error(404, "no such path '/v1/things/1'; paths: /, /healthz, /readyz, /v1/things"));
    assertThat(get("/healthzz").statusCode()).isEqualTo(404);
  }

  @Test
  void aStatusPageReplacesTheDefaultRoot() throws Exception {
    server.handle("/", exchange -> AdminServer.respond(exchange, 200, "text/html", "<p>status</p>"));

    assertThat(get("/").body()).isEqualTo("<p>status</p>");
    assertThat(get("/index.html").statusCode()).isEqualTo(404);
  }

  @Test
  void readyzGivesTheReason() throws Exception {
    HttpResponse<String> response = get("/readyz");

    assertThat(response.statusCode()).isEqualTo(503);
    assertThat(response.body()).isEqualTo("not ready: starting\n");
  }

  private HttpResponse<String> get(String path) throws Exception {
    return http.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + server.port() + path)).build(),
        HttpResponse.BodyHandlers.ofString());
  }
}
