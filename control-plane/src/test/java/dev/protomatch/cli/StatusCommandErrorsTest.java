package dev.protomatch.cli;

import static org.assertj.core.api.Assertions.assertThat;

import com.sun.net.httpserver.HttpServer;
import java.io.IOException;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** {@code protomatch status --admin} pointed at an HTTP server that is not protomatch's admin port: one line. */
class StatusCommandErrorsTest {
  private HttpServer other;
  private volatile int status;
  private volatile String body;

  @BeforeEach
  void start() throws IOException {
    other = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 8);
    other.createContext("/", exchange -> {
      byte[] bytes = body.getBytes(StandardCharsets.UTF_8);
      exchange.sendResponseHeaders(status, bytes.length);
      try (OutputStream out = exchange.getResponseBody()) {
        out.write(bytes);
      }
    });
    other.start();
  }

  @AfterEach
  void stop() {
    other.stop(0);
  }

  @Test
  void aNotFoundPageIsOneLine() {
    status = 404;
    body = "<!DOCTYPE HTML>\n<html>\n<title>Error response</title>\n</html>\n";

    CliRun run = CliRun.of("status", "--admin", admin());

    assertThat(run.exit()).isEqualTo(Main.EXIT_USER_ERROR);
    assertThat(run.err()).isEqualTo("protomatch status: " + admin() + "/v1/services answered 404: <!DOCTYPE HTML>"
        + " (not protomatch's admin port? use --admin URL)" + System.lineSeparator());
  }

  @Test
  void anAnswerThatIsNotTheAdminJsonIsOneLine() {
    status = 200;
    body = "hello\nworld\n";

    CliRun run = CliRun.of("status", "--admin", admin());

    assertThat(run.exit()).isEqualTo(Main.EXIT_USER_ERROR);
    assertThat(run.err()).isEqualTo("protomatch status: " + admin() + "/v1/services did not answer with"
        + " protomatch's JSON (is " + admin() + " protomatch's admin port? use --admin URL)" + System.lineSeparator());
  }

  @Test
  void theAdminApisJsonErrorIsShownByItsMessage() {
    status = 500;
    body = "{\"status\": 500, \"error\": \"internal error: see the control plane's log\"}";

    CliRun run = CliRun.of("status", "--admin", admin());

    assertThat(run.err()).isEqualTo("protomatch status: " + admin() + "/v1/services answered 500: internal error:"
        + " see the control plane's log" + System.lineSeparator());
  }

  private String admin() {
    return "http://127.0.0.1:" + other.getAddress().getPort();
  }
}
