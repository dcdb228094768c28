package dev.protomatch.admin;

import static org.assertj.core.api.Assertions.assertThat;

import dev.protomatch.xds.NodeKind;
import dev.protomatch.xds.SnapshotPublisher;
import dev.protomatch.xds.XdsType;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import org.junit.jupiter.api.Test;

/** The status page from plain view records: rows, colour classes, and escaping of everything from outside. */
class StatusPageTest {
  private static final String V2_API = "sha256:" + "2".repeat(64);
  private static final String V1_API = "sha256:" + "1".repeat(64);

  private static final AdminViews.Policies POLICY = new AdminViews.Policies("/etc/protomatch/policies.yaml", 7,
      "2026-11-25T03:00:00Z", "ab".repeat(32), List.of(), null);

  @Test
  void replicasSectionShowsTheRevisionAndWarnsOfAPeerRunningAnotherPolicy() {
    AdminViews.Replicas replicas = new AdminViews.Replicas(
        new AdminViews.Replica("replica-a", "127.0.0.1:2379", 42L, true, null, 0L, "replica-b", "ab".repeat(32), 7,
            "2026-11-25T02:00:00Z"),
        1,
        List.of(new AdminViews.Peer("replica-b", "ab".repeat(32), 3, "2026-11-25T02:00:01Z", null, "127.0.0.1:18002",
                true),
            new AdminViews.Peer("<i>replica-c</i>", "cd".repeat(32), 2, "2026-11-25T02:00:02Z", null, null, false)));

    String html = StatusPage.render(null, new AdminViews.Endpoints(0, List.of()), POLICY,
        new AdminViews.Clients(List.of()), replicas);

    assertThat(html)
        .contains("<section id=\"replicas\" data-registry=\"127.0.0.1:2379\" data-policy-mismatches=\"1\">")
        .contains("<code id=\"applied-revision\" data-revision=\"42\">42</code>")
        .contains("<code id=\"probe-leader\">replica-b</code>")
        .contains("<div class=\"notice rejected policy-mismatch\" data-peer=\"&lt;i&gt;replica-c&lt;/i&gt;\">")
        .contains("runs another policy (<code title=\"sha256 " + "cd".repeat(32) + "\">sha256 cdcdcdcdcdcd\u2026</code>")
        .contains("<tr class=\"replica peer same-policy\" data-replica=\"replica-b\" data-same-policy=\"true\">")
        .contains("<tr class=\"replica peer other-policy\" data-replica=\"&lt;i&gt;replica-c&lt;/i&gt;\"")
        .doesNotContain("<i>replica-c</i>")
        .doesNotContain("data-peer=\"replica-b\"")
        .doesNotContain("etcd-trouble");
  }

  @Test
  void replicasSectionInMemoryAndWithEtcdUnreachable() {
    AdminViews.Replica alone = new AdminViews.Replica("solo", "in-memory", null, null, null, null, null,
        "ab".repeat(32), 7, "2026-11-25T02:00:00Z");
    String inMemory = StatusPage.render(null, new AdminViews.Endpoints(0, List.of()), POLICY,
        new AdminViews.Clients(List.of()), new AdminViews.Replicas(alone, 0, List.of()));
    assertThat(inMemory).contains("data-registry=\"in-memory\" data-policy-mismatches=\"0\"")
        .doesNotContain("applied-revision").doesNotContain("policy-mismatch\"").doesNotContain("etcd-trouble");

    AdminViews.Replica cutOff = new AdminViews.Replica("a", "127.0.0.1:2379", 42L, false,
        "watch: connection refused <x>", 0L, null, "ab".repeat(32), 7, "2026-11-25T02:00:00Z");
    String unreachable = StatusPage.render(null, new AdminViews.Endpoints(0, List.of()), POLICY,
        new AdminViews.Clients(List.of()), new AdminViews.Replicas(cutOff, 0, List.of()));
    assertThat(unreachable).contains("<div id=\"etcd-trouble\" class=\"notice rejected\">")
        .contains("watch: connection refused &lt;x&gt;");
  }

  @Test
  void includedAndExcludedEndpointsAreRowsWithTheirClassesAndTheReasonIsEscaped() {
    AdminViews.Service greeter = new AdminViews.Service("demo.Greeter", "demo-greeter",
        new AdminViews.Expectation("methods", List.of("SayHello", "SayHelloAgain"), null),
        new AdminViews.ExpectedSurface(V2_API, "sha256:" + "3".repeat(64), List.of("SayHello", "SayHelloAgain")),
        "qualified",
        List.of(new AdminViews.Included("127.0.0.1:50052", V2_API, null, 1, null)),
        List.of(new AdminViews.Excluded("127.0.0.1:50051", "missing_methods",
            "missing methods [<script>alert('x')</script>] & \"more\"", V1_API)),
        Map.of("SayHello", List.of("127.0.0.1:50052"), "SayHelloAgain", List.of("127.0.0.1:50052")), "none", List.of());
    AdminViews.Endpoints endpoints = new AdminViews.Endpoints(4, List.of(
        endpoint("127.0.0.1:50051", V1_API, List.of("SayHello"), Map.of("instance", "<b>old</b>")),
        endpoint("127.0.0.1:50052", V2_API, List.of("SayHello", "SayHelloAgain"), Map.of("instance", "new-v2"))));

    String html = StatusPage.render(new AdminViews.Services("2026-11-25T03:00:01Z", 4, List.of(greeter)), endpoints,
        POLICY, new AdminViews.Clients(List.of(client(1), client(2))));

    assertThat(html).startsWith("<!DOCTYPE html>")
        .contains("<meta http-equiv=\"refresh\" content=\"5\">")
        .contains("<table class=\"service\" data-service=\"demo.Greeter\" data-cluster=\"demo-greeter\""
            + " data-outcome=\"qualified\">")
        .contains("<tr class=\"endpoint included\" data-address=\"127.0.0.1:50052\" data-status=\"included\">")
        .contains("<tr class=\"endpoint excluded reason-mismatch\" data-address=\"127.0.0.1:50051\""
            + " data-status=\"excluded\" data-reason-code=\"missing_methods\" data-reason-class=\"mismatch\">")
        .contains("<span class=\"reason-text\">missing methods [&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;]"
            + " &amp; &quot;more&quot;</span>")
        .doesNotContain("<script")
        .doesNotContain("<b>old</b>")
        .contains("instance=&lt;b&gt;old&lt;/b&gt;")
        // the build: abbreviated api hash (whole hash in the tooltip) and the method list
        .contains("<code class=\"api\" title=\"" + V2_API + "\">sha256:222222222222\u2026</code>"
            + "<span class=\"methods\">SayHello, SayHelloAgain</span>")
        .doesNotContain("takes calls to")
        .contains("<dd id=\"policy-source\"><code>/etc/protomatch/policies.yaml</code></dd>")
        .contains("<dd id=\"policy-version\" data-version=\"7\"")
        .contains("<dd id=\"xds-clients\" data-count=\"2\">2 connected</dd>");
  }

  @Test
  void anIncludedOlderBuildSaysWhichMethodsItTakes() {
    AdminViews.Service greeter = new AdminViews.Service("demo.Greeter", "demo-greeter",
        new AdminViews.Expectation("newest", null, null),
        new AdminViews.ExpectedSurface(V2_API, "sha256:" + "3".repeat(64), List.of("SayHello", "SayHelloAgain")),
        "qualified",
        List.of(new AdminViews.Included("127.0.0.1:50051", V1_API, null, 1, null),
            new AdminViews.Included("127.0.0.1:50052", V2_API, null, 1, null)),
        List.of(),
        Map.of("SayHello", List.of("127.0.0.1:50051", "127.0.0.1:50052"), "SayHelloAgain", List.of("127.0.0.1:50052")),
        "none", List.of());

    String html = StatusPage.render(new AdminViews.Services("2026-11-25T03:00:01Z", 4, List.of(greeter)),
        new AdminViews.Endpoints(4, List.of()), POLICY, new AdminViews.Clients(List.of()));

    assertThat(html).contains("<span class=\"routed\" data-routed-methods=\"SayHello\">takes calls to SayHello only</span>")
        .containsOnlyOnce("takes calls to");
  }

  @Test
  void aServiceWithOneMethodFailingClosedNamesItAndIsNotShownAsDown() {
    AdminViews.Service greeter = new AdminViews.Service("demo.Greeter", "demo-greeter",
        new AdminViews.Expectation("methods", List.of("SayHello", "SayHelloAgian"), null), null,
        "none_qualified_fail_closed",
        List.of(new AdminViews.Included("127.0.0.1:50051", V1_API, null, 1, null)),
        List.of(),
        Map.of("SayHello", List.of("127.0.0.1:50051"), "SayHelloAgian", List.of()),
        "some_methods", List.of("SayHelloAgian"));

    String html = StatusPage.render(new AdminViews.Services("2026-11-25T03:00:01Z", 4, List.of(greeter)),
        new AdminViews.Endpoints(4, List.of()), POLICY, new AdminViews.Clients(List.of()));

    assertThat(html).contains("<span class=\"failing-closed\" data-methods=\"SayHelloAgian\">calls to SayHelloAgian fail"
            + " closed (UNAVAILABLE); the other methods are routed</span>")
        .contains("none has every required method: each method goes to the builds serving it")
        .doesNotContain("none qualified: fail closed");
  }

  @Test
  void reasonsAreColouredByClass() {
    assertThat(StatusPage.reasonClass("hash_mismatch")).isEqualTo("mismatch");
    assertThat(StatusPage.reasonClass("incompatible_methods")).isEqualTo("mismatch");
    assertThat(StatusPage.reasonClass("awaiting_probe")).isEqualTo("unknown");
    assertThat(StatusPage.reasonClass("unknown_surface")).isEqualTo("unknown");
    assertThat(StatusPage.reasonClass("lease_expired")).isEqualTo("gone");
    assertThat(StatusPage.reasonClass("probe_failed")).isEqualTo("gone");
    assertThat(StatusPage.reasonClass("some_future_reason")).isEqualTo("unknown");
  }

  @Test
  void beforeTheFirstDecisionThePageSaysSoAndStillNamesThePolicy() {
    String html = StatusPage.render(null, new AdminViews.Endpoints(0, List.of()),
        new AdminViews.Policies("<built-in>", 0, "2026-11-25T03:00:00Z", "e3b0", List.of(),
            new AdminViews.Reload("2026-11-25T03:00:02Z", false, List.of("policies.yaml:3:5: unknown key '<x>'"))),
        new AdminViews.Clients(List.of()));

    assertThat(html).contains("id=\"no-decision\"")
        .contains("<code>&lt;built-in&gt;</code>")
        .contains("unknown key &#39;&lt;x&gt;&#39;")
        .contains("data-count=\"0\"")
        .doesNotContain("<table");
  }

  @Test
  void escapeCoversTextAndBothAttributeQuotes() {
    assertThat(StatusPage.escape("a<b>&\"c\"'d'")).isEqualTo("a&lt;b&gt;&amp;&quot;c&quot;&#39;d&#39;");
    assertThat(StatusPage.escape("plain")).isEqualTo("plain");
    assertThat(StatusPage.escape(null)).isEmpty();
  }

  private static AdminViews.Endpoint endpoint(String address, String api, List<String> methods,
                                              Map<String, String> labels) {
    return new AdminViews.Endpoint(address, "registered", "greeter", "2026-11-25T03:00:00Z",
        new AdminViews.Lease(3, "2026-11-25T03:00:03Z", false), null, new TreeMap<>(labels), 1,
        List.of(new AdminViews.ServiceBuild("demo.Greeter", api, null, api, null, methods)),
        new AdminViews.Probe("ok", "2026-11-25T03:00:00Z", "v1", null, null, 0));
  }

  @Test
  void aRefusedSnapshotIsNamedWithItsProblemsEscapedAndFromTheSameViewAsTheJson() {
    SnapshotPublisher.Rejection rejection = new SnapshotPublisher.Rejection(NodeKind.PROXYLESS,
        List.of("ClusterLoadAssignment 'demo-greeter': address '<host>' is not an IP address"),
        Instant.parse("2026-11-25T03:00:00Z"), Instant.parse("2026-11-25T03:00:05Z"),
        Map.of(XdsType.EDS, "0123456789abcdef", XdsType.CDS, "fedcba9876543210"));
    AdminViews.Clients clients = AdminViewBuilder.clients(List.of(), List.of(rejection));

    String html = StatusPage.render(null, new AdminViews.Endpoints(0, List.of()), POLICY, clients);

    assertThat(html).contains("<div class=\"notice rejected rejected-snapshot\" data-node-group=\"proxyless\">"
            + "The newest proxyless snapshot (2026-11-25T03:00:05Z) was refused by the pre-flight check; the last"
            + " good one stays in force: ClusterLoadAssignment &#39;demo-greeter&#39;: address &#39;&lt;host&gt;&#39;"
            + " is not an IP address</div>")
        .doesNotContain("<host>");
    assertThat(AdminJson.write(clients)).contains("\"rejected_snapshots\"", "\"node_group\" : \"proxyless\"",
        "\"since\" : \"2026-11-25T03:00:00Z\"", "\"versions_in_force\"", "\"endpoints\" : \"0123456789abcdef\"");
    assertThat(AdminJson.write(AdminViewBuilder.clients(List.of(), List.of()))).doesNotContain("rejected");
  }

  private static AdminViews.Client client(long streamId) {
    return new AdminViews.Client(streamId, "node-" + streamId, "c", "grpc-java", "sotw", "2026-11-25T03:00:00Z",
        Map.of());
  }
}
