package dev.protomatch.admin;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.tuple;

import dev.protomatch.decision.RoutingDecider;
import dev.protomatch.decision.RoutingDecision;
import dev.protomatch.descriptor.HashLevel;
import dev.protomatch.descriptor.ServiceFingerprint;
import dev.protomatch.policy.Expectation;
import dev.protomatch.policy.PolicyDocument;
import dev.protomatch.policy.ServicePolicy;
import dev.protomatch.policy.Settings;
import dev.protomatch.probe.ReflectionProtocol;
import dev.protomatch.registry.Advertisement;
import dev.protomatch.registry.EndpointAddress;
import dev.protomatch.registry.EndpointSource;
import dev.protomatch.registry.EndpointState;
import dev.protomatch.registry.Lease;
import dev.protomatch.registry.Locality;
import dev.protomatch.registry.ProbeState;
import dev.protomatch.registry.RegistryState;
import dev.protomatch.testing.Fingerprints;
import dev.protomatch.testing.PrometheusText;
import io.prometheus.metrics.expositionformats.PrometheusTextFormatWriter;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.TreeMap;
import java.util.TreeSet;
import org.junit.jupiter.api.Test;

/**
 * Under fail-open the endpoints that did not qualify take every call: /v1/services, the metrics and the status page
 * show each once, as taking calls with why it did not qualify, and list every known method with them.
 */
class FailOpenViewsTest {
  private static final Instant NOW = Instant.parse("2026-01-02T00:00:00Z");
  /** Pinned to v2, which nobody runs; v1 (SayHello) and a v2 whose lease ran out claim the service. */
  private static final PolicyDocument PINNED_FAIL_OPEN = new PolicyDocument(Settings.defaults(), List.of(
      new ServicePolicy("demo.Greeter", "demo-greeter",
          new Expectation.PinnedHash(HashLevel.API, Fingerprints.greeterV2().api()),
          ServicePolicy.WhenNoneQualify.FAIL_OPEN, ServicePolicy.WithoutReflection.TRUST_ADVERTISED, List.of())));
  private static final RegistryState STATE = state(endpoint(50051, Fingerprints.greeterV1(), NOW.plusSeconds(30)),
      endpoint(50052, Fingerprints.greeterV2(), NOW.minusSeconds(1)));
  private static final RoutingDecision DECISION = RoutingDecider.decide(PINNED_FAIL_OPEN, STATE, NOW);

  @Test
  void servicesViewShowsTheEndpointTakingCallsOnceWithWhyItDidNotQualify() {
    AdminViews.Service service = AdminViewBuilder.services(DECISION, STATE).services().get(0);

    assertThat(service.outcome()).isEqualTo("none_qualified_fail_open");
    assertThat(service.included()).singleElement().satisfies(included -> {
      assertThat(included.address()).isEqualTo("127.0.0.1:50051");
      assertThat(included.unqualified().reasonCode()).isEqualTo("hash_mismatch");
      assertThat(included.unqualified().reason()).startsWith("hash mismatch: expected api ");
    });
    assertThat(service.excluded()).extracting(AdminViews.Excluded::address, AdminViews.Excluded::reasonCode)
        .containsExactly(tuple("127.0.0.1:50052", "lease_expired"));
    assertThat(service.methods()).isEqualTo(Map.of("SayHello", List.of("127.0.0.1:50051")));
    assertThat(service.failsClosed()).isEqualTo("none");
  }

  @Test
  void requiredMethodsAreListedWithTheFallbackToo() {
    PolicyDocument required = new PolicyDocument(Settings.defaults(), List.of(new ServicePolicy("demo.Greeter",
        "demo-greeter", new Expectation.RequiredMethods(new TreeSet<>(List.of("SayHello", "SayHelloAgian"))),
        ServicePolicy.WhenNoneQualify.FAIL_OPEN, ServicePolicy.WithoutReflection.TRUST_ADVERTISED, List.of())));

    AdminViews.Service service = AdminViewBuilder.services(RoutingDecider.decide(required, STATE, NOW), STATE)
        .services().get(0);

    assertThat(service.outcome()).isEqualTo("none_qualified_fail_open");
    assertThat(service.methods()).isEqualTo(Map.of("SayHello", List.of("127.0.0.1:50051"),
        "SayHelloAgian", List.of("127.0.0.1:50051")));
  }

  @Test
  void aQualifiedEndpointHasNoUnqualifiedReason() {
    PolicyDocument newest = new PolicyDocument(Settings.defaults(), List.of(new ServicePolicy("demo.Greeter",
        "demo-greeter", new Expectation.Newest(), ServicePolicy.WhenNoneQualify.FAIL_OPEN,
        ServicePolicy.WithoutReflection.TRUST_ADVERTISED, List.of())));

    AdminViews.Service service = AdminViewBuilder.services(RoutingDecider.decide(newest, STATE, NOW), STATE)
        .services().get(0);

    assertThat(service.included()).singleElement().satisfies(included -> assertThat(included.unqualified()).isNull());
  }

  @Test
  void metricsCountTheEndpointOnceAsIncludedUnderItsReason() throws IOException {
    ProtomatchMetrics metrics = new ProtomatchMetrics(List::of);
    metrics.decided(DECISION);

    PrometheusText.Scrape scrape = scrape(metrics);

    assertThat(scrape.samples("protomatch_endpoints")).extracting(PrometheusText.Sample::labels,
        PrometheusText.Sample::value).containsExactlyInAnyOrder(
            tuple(labels("included", ""), 0.0),
            tuple(labels("included", "hash_mismatch"), 1.0),
            tuple(labels("excluded", "lease_expired"), 1.0));
  }

  @Test
  void statusPageRowIsIncludedWithTheReasonAndNoExcludedRow() {
    String html = StatusPage.render(AdminViewBuilder.services(DECISION, STATE), AdminViewBuilder.endpoints(STATE, NOW),
        new AdminViews.Policies("policies.yaml", 1, NOW.toString(), "ab".repeat(32), List.of(), null),
        new AdminViews.Clients(List.of()));

    assertThat(html)
        .contains("<tr class=\"endpoint included unqualified\" data-address=\"127.0.0.1:50051\" data-status=\"included\""
            + " data-unqualified-reason-code=\"hash_mismatch\">")
        .contains("takes every call unchecked (fail-open); did not qualify: ")
        .contains("1 included (1 unchecked: fail-open), 1 excluded")
        .doesNotContain("data-address=\"127.0.0.1:50051\" data-status=\"excluded\"");
  }

  private static Map<String, String> labels(String state, String reason) {
    return Map.of("service", "demo.Greeter", "state", state, "reason", reason);
  }

  private static PrometheusText.Scrape scrape(ProtomatchMetrics metrics) throws IOException {
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    PrometheusTextFormatWriter.create().write(out, metrics.registry().scrape());
    return PrometheusText.parse(out.toString(StandardCharsets.UTF_8));
  }

  private static RegistryState state(EndpointState... endpoints) {
    TreeMap<EndpointAddress, EndpointState> map = new TreeMap<>();
    for (EndpointState endpoint : endpoints) {
      map.put(endpoint.address(), endpoint);
    }
    return new RegistryState(1, map);
  }

  private static EndpointState endpoint(int port, ServiceFingerprint build, Instant leaseExpiry) {
    EndpointAddress address = new EndpointAddress("127.0.0.1", port);
    return new EndpointState(port, address, EndpointSource.REGISTRATION, Locality.UNKNOWN, new TreeMap<>(), 1,
        new TreeMap<>(Map.of(build.service(), Advertisement.of(build))),
        Optional.of(new Lease("l" + port, Duration.ofSeconds(30), leaseExpiry)), "agent", NOW,
        new ProbeState.Probed(NOW, ReflectionProtocol.V1, new TreeMap<>(Map.of(build.service(), build))));
  }
}
