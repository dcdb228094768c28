package dev.protomatch.admin;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import dev.protomatch.decision.ExcludedEndpoint;
import dev.protomatch.decision.ExclusionReason;
import dev.protomatch.decision.RoutableEndpoint;
import dev.protomatch.decision.RoutingDecision;
import dev.protomatch.decision.ServiceDecision;
import dev.protomatch.policy.Expectation;
import dev.protomatch.policy.PolicyError;
import dev.protomatch.policy.ReloadOutcome;
import dev.protomatch.policy.ServicePolicy;
import dev.protomatch.probe.ReflectionException;
import dev.protomatch.probe.ReflectionProber;
import dev.protomatch.probe.ReflectionProtocol;
import dev.protomatch.registration.RegistrationService;
import dev.protomatch.testing.Decisions;
import dev.protomatch.registry.Advertisement;
import dev.protomatch.registry.EndpointAddress;
import dev.protomatch.registry.EndpointRegistration;
import dev.protomatch.registry.InMemoryEndpointRegistry;
import dev.protomatch.registry.LeaseSweeper;
import dev.protomatch.registry.Locality;
import dev.protomatch.registry.ProbeState;
import dev.protomatch.testing.Fingerprints;
import dev.protomatch.testing.PrometheusText;
import dev.protomatch.testing.TestClock;
import dev.protomatch.xds.NodeKind;
import dev.protomatch.xds.SnapshotPublisher;
import dev.protomatch.xds.XdsClientStatus;
import dev.protomatch.xds.XdsClientTracker;
import dev.protomatch.xds.XdsType;
import io.prometheus.metrics.expositionformats.PrometheusTextFormatWriter;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.TreeMap;
import java.util.TreeSet;
import org.junit.jupiter.api.Nested;
import org.junit.jupiter.api.Test;

/**
 * Each metric family, driven through the method its domain event is wired to and read back from the
 * Prometheus text format (written by client_java, parsed by a strict test parser), as a scraper sees it.
 */
class ProtomatchMetricsTest {
  private static final String GREETER = "demo.Greeter";
  private static final Instant T0 = Instant.parse("2026-01-02T00:00:00Z");

  private final List<XdsClientStatus> connected = new ArrayList<>();
  private final ProtomatchMetrics metrics = new ProtomatchMetrics(() -> List.copyOf(connected));

  @Nested
  class Endpoints {
    @Test
    void countsIncludedEndpointsAndExcludedOnesByReasonCode() throws IOException {
      metrics.decided(decision(GREETER, 2, List.of(missingMethods(1), missingMethods(2), leaseExpired(3))));

      PrometheusText.Scrape scrape = scrape();

      assertThat(scrape.family("protomatch_endpoints").orElseThrow().type()).isEqualTo("gauge");
      assertThat(scrape.value("protomatch_endpoints", endpoints(GREETER, "included", ""))).hasValue(2);
      assertThat(scrape.value("protomatch_endpoints", endpoints(GREETER, "excluded", "missing_methods"))).hasValue(2);
      assertThat(scrape.value("protomatch_endpoints", endpoints(GREETER, "excluded", "lease_expired"))).hasValue(1);
    }

    @Test
    void aServiceWithoutEndpointsShowsZeroIncluded() throws IOException {
      metrics.decided(decision(GREETER, 0, List.of()));

      assertThat(scrape().value("protomatch_endpoints", endpoints(GREETER, "included", ""))).hasValue(0);
    }

    @Test
    void aReasonNoLongerInTheDecisionDisappears() throws IOException {
      metrics.decided(decision(GREETER, 1, List.of(leaseExpired(3))));

      metrics.decided(decision(GREETER, 1, List.of()));

      assertThat(scrape().samples("protomatch_endpoints")).extracting(PrometheusText.Sample::labels)
          .containsExactly(endpoints(GREETER, "included", ""));
    }

    @Test
    void nothingIsShownBeforeTheFirstDecision() throws IOException {
      assertThat(scrape().samples("protomatch_endpoints")).isEmpty();
    }

    @Test
    void methodsFailingClosedAreCountedPerServiceAndZeroWhenAllAreRouted() throws IOException {
      metrics.decided(decision(GREETER, 0, List.of())); // SayHello required, nobody serves it

      assertThat(scrape().value("protomatch_methods_failing_closed", Map.of("service", GREETER))).hasValue(1);

      metrics.decided(decision(GREETER, 1, List.of()));

      assertThat(scrape().value("protomatch_methods_failing_closed", Map.of("service", GREETER))).hasValue(0);
    }
  }

  @Nested
  class SnapshotBuilds {
    @Test
    void eachChangedDecisionIsOneBuildWithItsDuration() throws IOException {
      metrics.recomputed(true, Duration.ofMillis(3));
      metrics.recomputed(true, Duration.ofMillis(40));

      PrometheusText.Scrape scrape = scrape();

      assertThat(scrape.family("protomatch_snapshot_builds_total").orElseThrow().type()).isEqualTo("counter");
      assertThat(scrape.value("protomatch_snapshot_builds_total", Map.of())).hasValue(2);
      assertThat(scrape.family("protomatch_snapshot_build_seconds").orElseThrow().type()).isEqualTo("histogram");
      assertThat(scrape.value("protomatch_snapshot_build_seconds_count", Map.of())).hasValue(2);
      assertThat(scrape.value("protomatch_snapshot_build_seconds_sum", Map.of()).getAsDouble())
          .isCloseTo(0.043, within(1e-9));
      assertThat(scrape.value("protomatch_snapshot_build_seconds_bucket", Map.of("le", "0.005"))).hasValue(1);
    }

    @Test
    void anUnchangedRecomputationBuildsNothing() throws IOException {
      metrics.recomputed(false, Duration.ofMillis(1));

      PrometheusText.Scrape scrape = scrape();
      assertThat(scrape.value("protomatch_snapshot_builds_total", Map.of())).hasValue(0);
      assertThat(scrape.value("protomatch_snapshot_build_seconds_count", Map.of())).hasValue(0);
    }
  }

  @Nested
  class Pushes {
    @Test
    void eachChangedTypeOfAPublicationIsOnePushToItsNodeGroup() throws IOException {
      metrics.published(new SnapshotPublisher.Publication(NodeKind.PROXYLESS, Map.of(), Map.of(XdsType.EDS, "e2")));
      metrics.published(new SnapshotPublisher.Publication(NodeKind.ENVOY, Map.of(),
          Map.of(XdsType.CDS, "c1", XdsType.EDS, "e1")));

      PrometheusText.Scrape scrape = scrape();

      assertThat(scrape.value("protomatch_xds_pushes_total", pushes("proxyless", "EDS"))).hasValue(1);
      assertThat(scrape.value("protomatch_xds_pushes_total", pushes("proxyless", "CDS"))).hasValue(0);
      assertThat(scrape.value("protomatch_xds_pushes_total", pushes("envoy", "CDS"))).hasValue(1);
      assertThat(scrape.value("protomatch_xds_pushes_total", pushes("envoy", "EDS"))).hasValue(1);
      assertThat(scrape.sum("protomatch_xds_pushes_total", Map.of())).isEqualTo(3);
    }

    @Test
    void eachRefusedSnapshotIsCountedForItsNodeGroup() throws IOException {
      SnapshotPublisher.Rejection rejection = new SnapshotPublisher.Rejection(NodeKind.PROXYLESS,
          List.of("cluster 'a': bad"), Instant.EPOCH, Instant.EPOCH, Map.of());
      metrics.snapshotRejected(rejection);
      metrics.snapshotRejected(rejection);

      PrometheusText.Scrape scrape = scrape();

      assertThat(scrape.value("protomatch_snapshot_rejected_total", Map.of("node_group", "proxyless"))).hasValue(2);
      assertThat(scrape.value("protomatch_snapshot_rejected_total", Map.of("node_group", "envoy"))).hasValue(0);
    }

    @Test
    void anAckWithAKnownPublicationTimeIsObservedByType() throws IOException {
      metrics.acked(new XdsClientTracker.AckEvent("node-a", NodeKind.PROXYLESS, XdsType.EDS.typeUrl(), "2",
          Optional.of(Duration.ofMillis(40))));
      metrics.acked(new XdsClientTracker.AckEvent("node-b", NodeKind.PROXYLESS, XdsType.EDS.typeUrl(), "2",
          Optional.empty()));

      PrometheusText.Scrape scrape = scrape();

      assertThat(scrape.family("protomatch_xds_push_latency_seconds").orElseThrow().type()).isEqualTo("histogram");
      assertThat(scrape.value("protomatch_xds_push_latency_seconds_count", Map.of("type", "EDS"))).hasValue(1);
      assertThat(scrape.value("protomatch_xds_push_latency_seconds_sum", Map.of("type", "EDS")).getAsDouble())
          .isCloseTo(0.040, within(1e-9));
      assertThat(scrape.value("protomatch_xds_push_latency_seconds_count", Map.of("type", "CDS"))).hasValue(0);
    }
  }

  @Nested
  class ConnectedClients {
    @Test
    void countsOpenStreamsByProtocol() throws IOException {
      connected.add(client(1, "sotw"));
      connected.add(client(2, "sotw"));
      connected.add(client(3, "delta"));

      PrometheusText.Scrape scrape = scrape();

      assertThat(scrape.family("protomatch_xds_connected_clients").orElseThrow().type()).isEqualTo("gauge");
      assertThat(scrape.value("protomatch_xds_connected_clients", Map.of("protocol", "sotw"))).hasValue(2);
      assertThat(scrape.value("protomatch_xds_connected_clients", Map.of("protocol", "delta"))).hasValue(1);
    }

    @Test
    void showsZeroForBothProtocolsWithoutClients() throws IOException {
      assertThat(scrape().samples("protomatch_xds_connected_clients")).extracting(PrometheusText.Sample::value)
          .containsExactly(0.0, 0.0);
    }
  }

  @Nested
  class Nacks {
    @Test
    void countsNacksByResourceType() throws IOException {
      metrics.nacked(nack(XdsType.EDS.typeUrl()));
      metrics.nacked(nack(XdsType.EDS.typeUrl()));
      metrics.nacked(nack(XdsType.CDS.typeUrl()));

      PrometheusText.Scrape scrape = scrape();

      assertThat(scrape.value("protomatch_xds_nacks_total", Map.of("type", "EDS"))).hasValue(2);
      assertThat(scrape.value("protomatch_xds_nacks_total", Map.of("type", "CDS"))).hasValue(1);
      assertThat(scrape.value("protomatch_xds_nacks_total", Map.of("type", "RDS"))).hasValue(0);
    }

    @Test
    void aTypeProtomatchDoesNotPublishCountsAsOther() throws IOException {
      metrics.nacked(nack("type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.Secret"));

      assertThat(scrape().value("protomatch_xds_nacks_total", Map.of("type", "other"))).hasValue(1);
    }
  }

  @Nested
  class Probes {
    @Test
    void countsProbesByResultAndTimesEveryOne() throws IOException {
      metrics.probed(probe(new ProbeState.Probed(T0, ReflectionProtocol.V1, new TreeMap<>()), 20));
      metrics.probed(probe(new ProbeState.Probed(T0, ReflectionProtocol.V1, new TreeMap<>()), 30));
      metrics.probed(probe(new ProbeState.Failed(T0, ReflectionException.Kind.TIMEOUT, "timed out", 1), 2000));
      metrics.probed(probe(new ProbeState.Failed(T0, ReflectionException.Kind.NOT_SUPPORTED, "no reflection", 1), 5));

      PrometheusText.Scrape scrape = scrape();

      assertThat(scrape.value("protomatch_probes_total", Map.of("result", "ok"))).hasValue(2);
      assertThat(scrape.value("protomatch_probes_total", Map.of("result", "timeout"))).hasValue(1);
      assertThat(scrape.value("protomatch_probes_total", Map.of("result", "not_supported"))).hasValue(1);
      assertThat(scrape.value("protomatch_probes_total", Map.of("result", "unavailable"))).hasValue(0);
      assertThat(scrape.value("protomatch_probes_total", Map.of("result", "bad_answer"))).hasValue(0);
      assertThat(scrape.value("protomatch_probe_duration_seconds_count", Map.of())).hasValue(4);
      assertThat(scrape.value("protomatch_probe_duration_seconds_sum", Map.of()).getAsDouble())
          .isCloseTo(2.055, within(1e-9));
    }
  }

  @Nested
  class Registrations {
    @Test
    void countsEachCallKindByOutcome() throws IOException {
      metrics.registrationCall(call(RegistrationService.Call.Kind.REGISTER, true));
      metrics.registrationCall(call(RegistrationService.Call.Kind.REGISTER, true));
      metrics.registrationCall(call(RegistrationService.Call.Kind.REGISTER, false));
      metrics.registrationCall(call(RegistrationService.Call.Kind.KEEP_ALIVE, true));
      metrics.registrationCall(call(RegistrationService.Call.Kind.KEEP_ALIVE, false));
      metrics.registrationCall(call(RegistrationService.Call.Kind.DEREGISTER, true));

      PrometheusText.Scrape scrape = scrape();

      assertThat(scrape.value("protomatch_registrations_total", Map.of("outcome", "accepted"))).hasValue(2);
      assertThat(scrape.value("protomatch_registrations_total", Map.of("outcome", "refused"))).hasValue(1);
      assertThat(scrape.value("protomatch_keepalives_total", Map.of("outcome", "accepted"))).hasValue(1);
      assertThat(scrape.value("protomatch_keepalives_total", Map.of("outcome", "refused"))).hasValue(1);
      assertThat(scrape.value("protomatch_deregistrations_total", Map.of("outcome", "accepted"))).hasValue(1);
      assertThat(scrape.value("protomatch_deregistrations_total", Map.of("outcome", "refused"))).hasValue(0);
    }

    @Test
    void countsEndpointsForgottenWhenTheirLeaseLapsed() throws IOException {
      TestClock clock = new TestClock(T0);
      InMemoryEndpointRegistry registry = new InMemoryEndpointRegistry(clock);
      LeaseSweeper sweeper = new LeaseSweeper(registry, Duration.ZERO);
      sweeper.addListener(metrics::leaseExpired);
      for (int port : List.of(50051, 50052)) {
        registry.register(new EndpointRegistration(new EndpointAddress("127.0.0.1", port), Locality.UNKNOWN,
            Map.of(), 1, List.of(Advertisement.of(Fingerprints.greeterV2())), "agent"), Duration.ofSeconds(30));
      }

      clock.advance(Duration.ofSeconds(31));
      sweeper.sweep();

      assertThat(scrape().value("protomatch_lease_expiries_total", Map.of())).hasValue(2);
    }
  }

  @Nested
  class PolicyReloads {
    @Test
    void countsAcceptedAndRefusedReloads() throws IOException {
      metrics.policyReloaded(new ReloadOutcome(T0, true, List.of()));
      metrics.policyReloaded(new ReloadOutcome(T0, false, List.of(new PolicyError("p.yaml", 1, 1, "bad"))));
      metrics.policyReloaded(new ReloadOutcome(T0, true, List.of()));

      PrometheusText.Scrape scrape = scrape();

      assertThat(scrape.value("protomatch_policy_reloads_total", Map.of("outcome", "accepted"))).hasValue(2);
      assertThat(scrape.value("protomatch_policy_reloads_total", Map.of("outcome", "refused"))).hasValue(1);
    }
  }

  @Nested
  class Replicas {
    @Test
    void withoutEtcdNoMismatchAndNoRevision() throws IOException {
      PrometheusText.Scrape scrape = scrape();

      assertThat(scrape.value("protomatch_replica_policy_mismatches", Map.of())).hasValue(0);
      assertThat(scrape.families()).doesNotContainKey("protomatch_registry_applied_revision");
    }

    @Test
    void withEtcdTheMismatchesAndTheAppliedRevisionAreReadAtEachScrape() throws IOException {
      java.util.concurrent.atomic.AtomicInteger mismatches = new java.util.concurrent.atomic.AtomicInteger(1);
      java.util.concurrent.atomic.AtomicLong revision = new java.util.concurrent.atomic.AtomicLong(41);
      metrics.replicasFrom(mismatches::get, revision::get);

      assertThat(scrape().value("protomatch_replica_policy_mismatches", Map.of())).hasValue(1);
      assertThat(scrape().value("protomatch_registry_applied_revision", Map.of())).hasValue(41);
      mismatches.set(0);
      revision.set(42);
      assertThat(scrape().value("protomatch_replica_policy_mismatches", Map.of())).hasValue(0);
      assertThat(scrape().value("protomatch_registry_applied_revision", Map.of())).hasValue(42);
      assertThat(scrape().families().get("protomatch_registry_applied_revision").type()).isEqualTo("gauge");
    }
  }

  @Nested
  class Exposition {
    @Test
    void everyFamilyHasHelpAndFollowsTheNamingConventions() throws IOException {
      metrics.decided(decision(GREETER, 1, List.of()));

      PrometheusText.Scrape scrape = scrape();

      assertThat(scrape.families().keySet()).containsExactlyInAnyOrder(
          "protomatch_endpoints", "protomatch_methods_failing_closed", "protomatch_snapshot_builds_total", "protomatch_snapshot_build_seconds",
          "protomatch_snapshot_rejected_total", "protomatch_xds_pushes_total", "protomatch_xds_push_latency_seconds",
          "protomatch_xds_connected_clients",
          "protomatch_xds_nacks_total", "protomatch_probes_total", "protomatch_probe_duration_seconds",
          "protomatch_registrations_total", "protomatch_keepalives_total", "protomatch_deregistrations_total",
          "protomatch_lease_expiries_total", "protomatch_policy_reloads_total",
          "protomatch_registration_auth_refusals_total", "protomatch_replica_policy_mismatches");
      assertThat(scrape.families().values()).allSatisfy(family -> {
        assertThat(family.help()).as(family.name()).hasValueSatisfying(help -> assertThat(help).isNotBlank());
        switch (family.type()) {
          case "counter" -> assertThat(family.name()).endsWith("_total");
          case "histogram" -> assertThat(family.name()).endsWith("_seconds");
          default -> assertThat(family.type()).as(family.name()).isEqualTo("gauge");
        }
      });
    }

    @Test
    void eachInstanceHasARegistryOfItsOwn() throws IOException {
      ProtomatchMetrics other = new ProtomatchMetrics(List::of);
      other.policyReloaded(new ReloadOutcome(T0, true, List.of()));

      assertThat(scrape().value("protomatch_policy_reloads_total", Map.of("outcome", "accepted"))).hasValue(0);
    }
  }

  private PrometheusText.Scrape scrape() throws IOException {
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    PrometheusTextFormatWriter.create().write(out, metrics.registry().scrape());
    return PrometheusText.parse(out.toString(StandardCharsets.UTF_8));
  }

  private static Map<String, String> endpoints(String service, String state, String reason) {
    return Map.of("service", service, "state", state, "reason", reason);
  }

  private static Map<String, String> pushes(String nodeGroup, String type) {
    return Map.of("node_group", nodeGroup, "type", type);
  }

  private static RoutingDecision decision(String service, int included, List<ExcludedEndpoint> excluded) {
    ServicePolicy policy = new ServicePolicy(service, "demo-greeter",
        new Expectation.RequiredMethods(new TreeSet<>(List.of("SayHello"))),
        ServicePolicy.WhenNoneQualify.FAIL_CLOSED, ServicePolicy.WithoutReflection.TRUST_ADVERTISED, List.of());
    List<RoutableEndpoint> endpoints = new ArrayList<>();
    for (int i = 0; i < included; i++) {
      endpoints.add(new RoutableEndpoint(address(100 + i), Locality.UNKNOWN, 1, Optional.empty()));
    }
    ServiceDecision decision = Decisions.oneBuild(policy, endpoints, excluded, "SayHello");
    return new RoutingDecision(T0, 1, new TreeMap<>(Map.of(service, decision)));
  }

  private static ExcludedEndpoint missingMethods(int n) {
    return new ExcludedEndpoint(address(n),
        new ExclusionReason.MissingMethods(new TreeSet<>(List.of("SayHelloAgain"))));
  }

  private static ExcludedEndpoint leaseExpired(int n) {
    return new ExcludedEndpoint(address(n), new ExclusionReason.LeaseExpired(T0));
  }

  private static EndpointAddress address(int n) {
    return new EndpointAddress("127.0.0.1", 50000 + n);
  }

  private static XdsClientStatus client(long streamId, String protocol) {
    return new XdsClientStatus(streamId, "node-" + streamId, "cluster", "grpc-java", protocol, T0, Map.of());
  }

  private static XdsClientTracker.NackEvent nack(String typeUrl) {
    return new XdsClientTracker.NackEvent("node-a", NodeKind.PROXYLESS, typeUrl,
        new XdsClientStatus.Nack("2", "rejected", T0));
  }

  private static ReflectionProber.ProbeCompleted probe(ProbeState outcome, long millis) {
    return new ReflectionProber.ProbeCompleted(address(1), outcome, Duration.ofMillis(millis));
  }

  private static RegistrationService.Call call(RegistrationService.Call.Kind kind, boolean accepted) {
    return new RegistrationService.Call(kind, accepted);
  }
}
