package dev.protomatch.cli;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.protomatch.demo.DemoGreeters;
import dev.protomatch.server.ControlPlane;
import dev.protomatch.server.ControlPlaneOptions;
import dev.protomatch.testing.LoopbackServer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.Map;
import java.util.Optional;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code protomatch status} shows what the status page shows: against a running control plane where the state
 * is quick to reach (policy, refused reload, an old build beside a new one), else against fixed admin JSON.
 */
class StatusCommandPageFactsTest {
  private static final String SHA = "c".repeat(64);

  @TempDir
  Path dir;

  @Test
  void aRefusedReloadIsShownWithItsErrorAndTheVersionInForce() throws Exception {
    Path file = Files.writeString(dir.resolve("policies.yaml"), """
        settings:
          auth:
            insecure: true
        services:
          - service: demo.Greeter
            cluster: demo-greeter
            expect: newest
        """);
    try (ControlPlane controlPlane = start(file)) {
      Files.writeString(file, "services:\n  - service: demo.Greeter\n    clustr: oops\n");
      assertThat(controlPlane.policyWatcher().reloadNow().accepted()).isFalse();

      CliRun run = CliRun.of("status", "--admin", "http://127.0.0.1:" + controlPlane.adminPort());

      assertThat(run.exit()).isZero();
      assertThat(run.out().lines()).anySatisfy(line -> assertThat(line)
          .startsWith("REFUSED: last policy reload (").contains(") was rejected; version 1 stays in force: " + file + ":")
          .contains("unknown key 'clustr'"));
    }
  }

  @Test
  void thePolicyInForceIsNamedWithItsVersionAndDigest() throws Exception {
    Path file = Files.writeString(dir.resolve("policies.yaml"), """
        settings:
          auth:
            insecure: true
        services:
          - service: demo.Greeter
            cluster: demo-greeter
            expect: newest
        """);
    try (ControlPlane controlPlane = start(file)) {
      CliRun run = CliRun.of("status", "--admin", "http://127.0.0.1:" + controlPlane.adminPort());

      assertThat(run.out().lines()).first().asString().startsWith("policy " + file + " version 1 (loaded ")
          .endsWith(", sha256 " + controlPlane.policies().current().sha256().substring(0, 12) + "..)");
      assertThat(run.out().lines()).contains("demo.Greeter: none qualified: fail closed (UNAVAILABLE); expects the"
          + " newest build; 0 included, 0 excluded");
    }
  }

  @Test
  void beforeTheFirstDecisionStatusShowsThePolicyAndSaysThereIsNoDecisionYet() {
    CliRun run;
    try (FakeAdminPort admin = FakeAdminPort.serving(
        Map.of("/v1/services", "{\"status\": 503, \"error\": \"no decision yet: the control plane is starting\"}"),
        Map.of("/v1/services", 503))) {
      run = CliRun.of("status", "--admin", admin.url());
    }

    assertThat(run.exit()).isZero();
    assertThat(run.out().lines()).first().asString().startsWith("policy ");
    assertThat(run.out().lines()).contains("No routing decision yet: the control plane is starting.")
        .anySatisfy(line -> assertThat(line).startsWith("no routing decision yet; "));
  }

  @Test
  void anOldBuildBesideANewOneSaysWhichCallsItStillTakes() throws Exception {
    try (LoopbackServer v1 = LoopbackServer.start(LoopbackServer.Reflection.V1_AND_V1ALPHA, DemoGreeters.v1("old"));
         LoopbackServer v2 = LoopbackServer.start(LoopbackServer.Reflection.V1_AND_V1ALPHA, DemoGreeters.v2("new"))) {
      Path file = Files.writeString(dir.resolve("policies.yaml"), """
          settings:
            auth:
              insecure: true
          services:
            - service: demo.Greeter
              cluster: demo-greeter
              expect:
                methods: [SayHello]
              static-endpoints:
                - 127.0.0.1:%d
                - 127.0.0.1:%d
          """.formatted(v1.port(), v2.port()));
      try (ControlPlane controlPlane = start(file)) {
        await().atMost(Duration.ofSeconds(30)).until(() ->
            controlPlane.updater().updateNow().services().get("demo.Greeter").included().size() == 2);

        CliRun run = CliRun.of("status", "--admin", "http://127.0.0.1:" + controlPlane.adminPort());

        assertThat(run.out().lines()).anySatisfy(line -> assertThat(line).startsWith("demo.Greeter")
            .contains("127.0.0.1:" + v1.port(), "included", "[SayHello]").endsWith("takes calls to SayHello only"));
        assertThat(run.out().lines()).anySatisfy(line -> assertThat(line).startsWith("demo.Greeter")
            .contains("127.0.0.1:" + v2.port(), "included", "[SayHello, SayHelloAgain]")
            .doesNotContain("takes calls"));
      }
    }
  }

  @Test
  void labelsAndLocalityAreShownPerEndpoint() {
    String services = """
        {"decided_at": "2026-11-26T00:00:00Z", "registry_version": 3, "services": [{
          "service": "demo.Greeter", "cluster": "demo-greeter", "expected": {"kind": "newest"},
          "outcome": "qualified", "included": [{"address": "127.0.0.1:50051", "api": "sha256:%s", "weight": 1}],
          "excluded": [], "methods": {"SayHello": ["127.0.0.1:50051"]}, "fails_closed": "none",
          "methods_failing_closed": []}]}
        """.formatted("a".repeat(64));
    String endpoints = """
        {"registry_version": 3, "endpoints": [{"address": "127.0.0.1:50051", "source": "registration",
          "registered_at": "2026-11-26T00:00:00Z", "locality": "eu/eu-a", "labels": {"version": "v2", "pod": "g-0"},
          "weight": 1, "services": [{"service": "demo.Greeter", "methods": ["SayHello"]}]}]}
        """;

    CliRun run;
    try (FakeAdminPort admin = FakeAdminPort.serving(Map.of("/v1/services", services, "/v1/endpoints", endpoints))) {
      run = CliRun.of("status", "--admin", admin.url());
    }

    assertThat(run.out().lines()).anySatisfy(line -> assertThat(line).startsWith("demo.Greeter")
        .contains("127.0.0.1:50051", "included", "eu/eu-a pod=g-0 version=v2"));
  }

  @Test
  void anEndpointTakingCallsUnderFailOpenSaysSoAndWhyItDidNotQualify() {
    String services = """
        {"decided_at": "2026-11-26T00:00:00Z", "registry_version": 3, "services": [{
          "service": "demo.Greeter", "cluster": "demo-greeter", "expected": {"kind": "newest"},
          "outcome": "none_qualified_fail_open", "included": [{"address": "127.0.0.1:50051", "api": "sha256:%s",
          "weight": 1, "unqualified": {"reason_code": "hash_mismatch", "reason": "api sha256:aa.. != pinned"}}],
          "excluded": [], "methods": {"SayHello": ["127.0.0.1:50051"]}, "fails_closed": "none",
          "methods_failing_closed": []}]}
        """.formatted("a".repeat(64));

    CliRun run;
    try (FakeAdminPort admin = FakeAdminPort.serving(Map.of("/v1/services", services))) {
      run = CliRun.of("status", "--admin", admin.url());
    }

    assertThat(run.out().lines()).anySatisfy(line -> assertThat(line).startsWith("demo.Greeter")
        .contains("127.0.0.1:50051", "included",
            "unchecked (fail-open); did not qualify: api sha256:aa.. != pinned"));
  }

  @Test
  void aLabelWithATerminalEscapeIsPrintedEscaped() {
    String services = """
        {"decided_at": "2026-11-26T00:00:00Z", "registry_version": 3, "services": [{
          "service": "demo.Greeter", "cluster": "demo-greeter", "expected": {"kind": "newest"},
          "outcome": "qualified", "included": [{"address": "127.0.0.1:50051", "weight": 1}], "excluded": [],
          "methods": {}, "fails_closed": "none", "methods_failing_closed": []}]}
        """;
    String endpoints = """
        {"registry_version": 3, "endpoints": [{"address": "127.0.0.1:50051", "source": "registration",
          "registered_at": "2026-11-26T00:00:00Z", "labels": {"team": "\\u001b[2Jowned"}, "weight": 1,
          "services": []}]}
        """;

    CliRun run;
    try (FakeAdminPort admin = FakeAdminPort.serving(Map.of("/v1/services", services, "/v1/endpoints", endpoints))) {
      run = CliRun.of("status", "--admin", admin.url());
    }

    assertThat(run.out()).doesNotContain(String.valueOf((char) 27)).contains("team=\\u001b[2Jowned");
  }

  @Test
  void aRefusedSnapshotIsShownWithItsProblems() {
    String clients = """
        {"clients": [], "rejected_snapshots": [{"node_group": "envoy", "problems": ["route r: cluster c~1 is missing"],
          "since": "2026-11-26T00:00:00Z", "at": "2026-11-26T00:00:05Z", "versions_in_force": {"clusters": "ab"}}]}
        """;

    CliRun run;
    try (FakeAdminPort admin = FakeAdminPort.serving(Map.of("/v1/clients", clients))) {
      run = CliRun.of("status", "--admin", admin.url());
    }

    assertThat(run.out().lines()).contains("REFUSED: the newest envoy snapshot (2026-11-26T00:00:05Z) was refused by"
        + " the pre-flight check; the last good one stays in force: route r: cluster c~1 is missing");
  }

  @Test
  void aPeerRunningAnotherPolicyIsAWarningAndARow() {
    String replicas = """
        {"replica": {"id": "a", "registry": "etcd://127.0.0.1:2379", "applied_revision": 42, "connected": true,
                     "resyncs": 0, "probe_leader": "a", "policy_sha256": "%1$s", "policy_version": 2,
                     "started_at": "2026-11-26T00:00:00Z"},
         "policy_mismatches": 1,
         "peers": [{"id": "b", "policy_sha256": "%2$s", "policy_version": 1, "started_at": "2026-11-26T00:00:01Z",
                    "admin_address": "127.0.0.1:18012", "same_policy": false}]}
        """.formatted(SHA, "d".repeat(64));

    CliRun run;
    try (FakeAdminPort admin = FakeAdminPort.serving(Map.of("/v1/replicas", replicas))) {
      run = CliRun.of("status", "--admin", admin.url());
    }

    assertThat(run.out().lines())
        .contains("WARNING: replica b runs another policy (sha256 dddddddddddd.., version 1) than this replica"
            + " (sha256 cccccccccccc..): the replicas may route differently")
        .contains("replica a (registry etcd://127.0.0.1:2379, applied etcd revision 42, probing: a)")
        .anySatisfy(line -> assertThat(line).startsWith("  b ").contains("sha256 dddddddddddd.. v1 (differs)",
            "127.0.0.1:18012"));
  }

  @Test
  void anUnreachableEtcdIsAWarning() {
    String replicas = """
        {"replica": {"id": "a", "registry": "etcd://127.0.0.1:2379", "applied_revision": 42, "connected": false,
                     "last_error": "UNAVAILABLE: io exception", "resyncs": 0, "policy_sha256": "%s",
                     "policy_version": 2, "started_at": "2026-11-26T00:00:00Z"}, "policy_mismatches": 0, "peers": []}
        """.formatted(SHA);

    CliRun run;
    try (FakeAdminPort admin = FakeAdminPort.serving(Map.of("/v1/replicas", replicas))) {
      run = CliRun.of("status", "--admin", admin.url());
    }

    assertThat(run.out().lines()).contains("WARNING: etcd is unreachable; this replica serves its last decision and"
        + " refuses registrations (retryable): UNAVAILABLE: io exception");
  }

  private static ControlPlane start(Path policy) throws Exception {
    return ControlPlane.start(ControlPlaneOptions.loopbackDefaults(Optional.of(policy)).withPorts(0, 0, 0),
        Clock.systemUTC(), Map.<String, String>of()::get);
  }
}
