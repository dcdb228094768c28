package dev.protomatch.server;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import ch.qos.logback.classic.Level;
import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.read.ListAppender;
import com.fasterxml.jackson.databind.JsonNode;
import dev.protomatch.admin.AdminJson;
import dev.protomatch.registry.EtcdEndpointRegistry;
import dev.protomatch.registry.EtcdTarget;
import dev.protomatch.registry.ReplicaDirectory;
import dev.protomatch.testing.EtcdProcess;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.slf4j.LoggerFactory;

/**
 * Two control planes on one etcd with different policy files: each flags the other on /v1/replicas, in
 * /metrics, on the status page and with one WARN; editing one file to match clears it; a replica that stops
 * leaves the other's view at once.
 */
class ControlPlaneReplicasTest {
  private static final HttpClient HTTP = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();
  private static final Duration WAIT = Duration.ofSeconds(20);
  private static final String POLICY = """
      settings:
        auth:
          insecure: true
      services:
        - service: demo.Greeter
          cluster: demo-greeter
          expect: newest
      """;

  private static EtcdProcess etcd;

  @TempDir
  Path dir;
  private final List<ControlPlane> replicas = new ArrayList<>();
  private final ListAppender<ILoggingEvent> logged = new ListAppender<>();
  private final Logger directoryLog = (Logger) LoggerFactory.getLogger(ReplicaDirectory.class);

  @BeforeAll
  static void startEtcd() {
    etcd = EtcdProcess.startSingle();
  }

  @AfterAll
  static void stopEtcd() {
    etcd.close();
  }

  @BeforeEach
  void captureLog() {
    logged.start();
    directoryLog.addAppender(logged);
  }

  @AfterEach
  void closeReplicas() {
    directoryLog.detachAppender(logged);
    replicas.forEach(ControlPlane::close);
  }

  @Test
  void replicasWithDifferentPolicyFilesFlagEachOtherUntilTheFilesAgree() throws Exception {
    Path aFile = write("a.yaml", POLICY);
    Path bFile = write("b.yaml", POLICY + "# edited on b only\n");
    ControlPlane a = replica("a", aFile);
    ControlPlane b = replica("b", bFile);
    String aSha = a.policies().current().sha256();
    String bSha = b.policies().current().sha256();
    assertThat(aSha).isNotEqualTo(bSha);

    await().atMost(WAIT).untilAsserted(() -> {
      assertThat(mismatches(a)).isEqualTo(1);
      assertThat(mismatches(b)).isEqualTo(1);
    });
    JsonNode aView = replicasView(a);
    System.out.println("GET /v1/replicas of replica a (etcd, b runs another policy):\n" + AdminJson.write(aView));
    assertThat(aView.get("replica").get("id").asText()).isEqualTo("a");
    assertThat(aView.get("replica").get("registry").asText()).isEqualTo(etcd.url().substring("etcd://".length()));
    assertThat(aView.get("replica").get("connected").asBoolean()).isTrue();
    assertThat(aView.get("replica").get("applied_revision").asLong()).isPositive();
    assertThat(aView.get("replica").get("policy_sha256").asText()).isEqualTo(aSha);
    assertThat(aView.get("peers")).hasSize(1);
    JsonNode peer = aView.get("peers").get(0);
    assertThat(peer.get("id").asText()).isEqualTo("b");
    assertThat(peer.get("policy_sha256").asText()).isEqualTo(bSha);
    assertThat(peer.get("same_policy").asBoolean()).isFalse();
    assertThat(peer.get("xds_address").asText()).isEqualTo("127.0.0.1:" + b.xdsPort());
    assertThat(peer.get("admin_address").asText()).isEqualTo("127.0.0.1:" + b.adminPort());
    assertThat(replicasView(b).get("peers").get(0).get("id").asText()).isEqualTo("a");
    assertThat(metric(a, "protomatch_replica_policy_mismatches")).isEqualTo("1.0");
    long revisionMetric = (long) Double.parseDouble(metric(a, "protomatch_registry_applied_revision"));
    assertThat(revisionMetric).isPositive()
        .isLessThanOrEqualTo(((EtcdEndpointRegistry) a.registry()).appliedRevision());
    assertThat(get(a, "/").body()).contains("data-policy-mismatches=\"1\"")
        .contains("<div class=\"notice rejected policy-mismatch\" data-peer=\"b\">");
    assertThat(mismatchWarnings()).hasSize(2)
        .anySatisfy(line -> assertThat(line).startsWith("replica b runs another policy"))
        .anySatisfy(line -> assertThat(line).startsWith("replica a runs another policy"));

    Files.writeString(bFile, POLICY); // the policy file watcher applies it: b runs a's policy now

    await().atMost(WAIT).untilAsserted(() -> {
      assertThat(mismatches(a)).isZero();
      assertThat(mismatches(b)).isZero();
    });
    assertThat(replicasView(a).get("peers").get(0).get("same_policy").asBoolean()).isTrue();
    assertThat(replicasView(a).get("peers").get(0).get("policy_version").asLong()).isEqualTo(2);
    assertThat(metric(a, "protomatch_replica_policy_mismatches")).isEqualTo("0.0");
    assertThat(get(a, "/").body()).contains("data-policy-mismatches=\"0\"").doesNotContain("policy-mismatch\" data-peer");
    assertThat(mismatchWarnings()).hasSize(2);

    b.close();
    replicas.remove(b);

    await().atMost(WAIT).untilAsserted(() -> assertThat(replicasView(a).get("peers")).isEmpty());
  }

  private ControlPlane replica(String id, Path policy) throws Exception {
    ControlPlane replica = ControlPlane.start(ControlPlaneOptions.loopbackDefaults(Optional.of(policy))
            .withPorts(0, 0, 0).withWarmup(Optional.empty()).withEtcd(EtcdTarget.parse(etcd.url()), id),
        Clock.systemUTC(), Map.<String, String>of()::get);
    replicas.add(replica);
    return replica;
  }

  private Path write(String name, String content) throws Exception {
    return Files.writeString(dir.resolve(name), content);
  }

  private static JsonNode replicasView(ControlPlane replica) throws Exception {
    HttpResponse<String> response = get(replica, "/v1/replicas");
    assertThat(response.statusCode()).isEqualTo(200);
    return AdminJson.mapper().readTree(response.body());
  }

  private static int mismatches(ControlPlane replica) throws Exception {
    return replicasView(replica).get("policy_mismatches").asInt();
  }

  /** The value of an unlabelled metric on /metrics. */
  private static String metric(ControlPlane replica, String name) throws Exception {
    return get(replica, "/metrics").body().lines().filter(line -> line.startsWith(name + " "))
        .map(line -> line.substring(name.length() + 1)).findFirst().orElseThrow(() -> new AssertionError(name));
  }

  private static HttpResponse<String> get(ControlPlane replica, String path) throws Exception {
    return HTTP.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + replica.adminPort() + path))
        .timeout(Duration.ofSeconds(10)).build(), HttpResponse.BodyHandlers.ofString());
  }

  private List<String> mismatchWarnings() {
    return logged.list.stream().filter(e -> e.getLevel() == Level.WARN).map(ILoggingEvent::getFormattedMessage)
        .filter(m -> m.contains("runs another policy")).toList();
  }
}
