package dev.protomatch.server;

import static org.assertj.core.api.Assertions.assertThat;

import dev.protomatch.testing.TestClock;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import java.util.Optional;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** A real control plane in its warm-up: {@code /readyz} says so, and how long until the first snapshot. */
class ReadyzDuringWarmUpTest {
  @TempDir
  Path dir;

  @Test
  void readyzNamesTheWarmUpAndTheSecondsLeft() throws Exception {
    Path policy = Files.writeString(dir.resolve("policies.yaml"), """
        settings:
          auth:
            insecure: true
        services:
          - service: demo.Greeter
            cluster: demo-greeter
            expect: newest
        """);
    TestClock clock = TestClock.atEpochPlusOneDay(); // stands still: the seconds left are exact
    try (ControlPlane controlPlane = ControlPlane.start(ControlPlaneOptions.loopbackDefaults(Optional.of(policy))
        .withPorts(0, 0, 0).withWarmup(Optional.of(Duration.ofMinutes(10))), clock, Map.<String, String>of()::get)) {
      HttpResponse<String> readyz = HttpClient.newHttpClient().send(HttpRequest.newBuilder(
          URI.create("http://127.0.0.1:" + controlPlane.adminPort() + "/readyz")).build(),
          HttpResponse.BodyHandlers.ofString());

      assertThat(readyz.statusCode()).isEqualTo(503);
      assertThat(readyz.body()).isEqualTo(
          "not ready: warming up: collecting registrations before the first snapshot, published in 600 s\n");
    }
  }
}
