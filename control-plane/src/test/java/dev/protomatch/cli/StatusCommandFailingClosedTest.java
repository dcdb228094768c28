package dev.protomatch.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.Map;
import org.junit.jupiter.api.Test;

/** {@code status} names the methods whose calls fail closed, as /v1/services reports them. */
class StatusCommandFailingClosedTest {
  private static final String SERVICES = """
      {"decided_at": "2026-11-26T00:00:00Z", "registry_version": 3, "services": [{
        "service": "demo.Greeter", "cluster": "demo-greeter",
        "expected": {"kind": "methods", "methods": ["SayHello", "SayHelloAgian"]},
        "outcome": "none_qualified_fail_closed",
        "included": [{"address": "127.0.0.1:50051", "api": "sha256:%s", "weight": 1}],
        "excluded": [],
        "methods": {"SayHello": ["127.0.0.1:50051"], "SayHelloAgian": []},
        "fails_closed": "some_methods", "methods_failing_closed": ["SayHelloAgian"]}]}
      """.formatted("a".repeat(64));
  @Test
  void aMethodFailingClosedIsNamedAndTheServiceIsNotShownAsDown() {
    CliRun run;
    try (FakeAdminPort admin = FakeAdminPort.serving(Map.of("/v1/services", SERVICES))) {
      run = CliRun.of("status", "--admin", admin.url());
    }

    assertThat(run.exit()).isZero();
    assertThat(run.out().lines()).contains("demo.Greeter: calls to SayHelloAgian fail closed (UNAVAILABLE): no live"
        + " build the policy admits serves them; its other methods are routed");
    assertThat(run.out().lines()).anySatisfy(line -> assertThat(line).startsWith("demo.Greeter")
        .contains("127.0.0.1:50051", "included"));
  }
}
