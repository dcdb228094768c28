package dev.protomatch.cli;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import dev.protomatch.server.ControlPlane;
import dev.protomatch.server.ControlPlaneOptions;
import dev.protomatch.testing.PrometheusText;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.util.Map;
import java.util.Optional;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code protomatch greeter --register} against a real control plane that refuses its token: one line and
 * exit code 2 on the greeter's side; the control plane counts the refusal in /metrics by reason.
 */
class GreeterRefusedRegistrationTest {
  /** Not set in any test environment: the greeter then sends no token. */
  private static final String UNSET_VARIABLE = "PROTOMATCH_TEST_VARIABLE_NOBODY_SETS";

  @TempDir
  Path dir;

  private ControlPlane controlPlane;

  @BeforeEach
  void start() throws Exception {
    Path policy = Files.writeString(dir.resolve("policies.yaml"), """
        settings:
          auth:
            token-env: TEST_TOKEN
        services:
          - service: demo.Greeter
            cluster: demo-greeter
            expect: newest
        """);
    controlPlane = ControlPlane.start(ControlPlaneOptions.loopbackDefaults(Optional.of(policy)).withPorts(0, 0, 0)
        .withWarmup(Optional.empty()), Clock.systemUTC(), Map.of("TEST_TOKEN", "the-right-token")::get);
  }

  @AfterEach
  void stop() {
    controlPlane.close();
  }

  @Test
  void aWrongTokenIsOneLineAndCountedAsInvalid() throws Exception {
    // The greeter reads its token from the variable --token-env names; PATH holds something, never this token.
    assumeTrue(System.getenv("PATH") != null);
    String registration = "127.0.0.1:" + controlPlane.registrationPort();

    CliRun run = CliRun.of("greeter", "--build", "v2", "--register", registration, "--token-env", "PATH");

    assertThat(run.exit()).isEqualTo(Main.EXIT_USER_ERROR);
    assertThat(run.err()).isEqualTo("protomatch greeter: --register " + registration
        + ": cannot register: UNAUTHENTICATED: invalid bearer token" + System.lineSeparator());
    assertThat(refusals("invalid")).isEqualTo(1);
    assertThat(refusals("missing")).isZero();
  }

  @Test
  void aMissingTokenIsOneLineAndCountedAsMissing() throws Exception {
    assumeTrue(System.getenv(UNSET_VARIABLE) == null);
    String registration = "127.0.0.1:" + controlPlane.registrationPort();

    CliRun run = CliRun.of("greeter", "--build", "v2", "--register", registration, "--token-env", UNSET_VARIABLE);

    assertThat(run.exit()).isEqualTo(Main.EXIT_USER_ERROR);
    assertThat(run.err()).isEqualTo("protomatch greeter: --register " + registration + ": cannot register:"
        + " UNAUTHENTICATED: missing bearer token: send metadata 'authorization: Bearer <token>'"
        + System.lineSeparator());
    assertThat(refusals("missing")).isEqualTo(1);
    assertThat(refusals("invalid")).isZero();
  }

  private double refusals(String reason) throws Exception {
    HttpResponse<String> metrics = HttpClient.newHttpClient().send(HttpRequest.newBuilder(
        URI.create("http://127.0.0.1:" + controlPlane.adminPort() + "/metrics")).build(),
        HttpResponse.BodyHandlers.ofString());
    return PrometheusText.parse(metrics.body())
        .value("protomatch_registration_auth_refusals_total", Map.of("reason", reason)).orElseThrow();
  }
}
