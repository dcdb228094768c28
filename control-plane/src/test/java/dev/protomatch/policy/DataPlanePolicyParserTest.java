package dev.protomatch.policy;

import static dev.protomatch.policy.PolicyFixtures.errorsIn;
import static dev.protomatch.policy.PolicyFixtures.parse;
import static org.assertj.core.api.Assertions.assertThat;

import dev.protomatch.policy.DataPlanePolicy.CircuitBreakers;
import dev.protomatch.policy.DataPlanePolicy.OutlierDetection;
import dev.protomatch.policy.DataPlanePolicy.Retries;
import dev.protomatch.policy.DataPlanePolicy.UpstreamTls;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Optional;
import java.util.OptionalInt;
import java.util.TreeSet;
import org.junit.jupiter.api.Test;

/** The data-plane keys of a services entry: what they read as, their defaults, and one line per bad value. */
class DataPlanePolicyParserTest {
  private static final String ENTRY = """
      services:
        - service: demo.Greeter
          cluster: demo-greeter
          expect: newest
      """;

  private static DataPlanePolicy dataPlane(String keys) {
    return parse(ENTRY + keys.indent(4)).services().get(0).dataPlane();
  }

  @Test
  void anEntryWithoutDataPlaneKeysGetsTheDefaults() {
    assertThat(dataPlane("")).isEqualTo(DataPlanePolicy.DEFAULTS);
  }

  @Test
  void everyKeyIsRead() {
    assertThat(dataPlane("""
        max-timeout: 30s
        circuit-breakers: {max-connections: 100, max-pending-requests: 200, max-requests: 300}
        retries: {enabled: true, retry-on: [connect-failure, reset], max-retries: 3, budget-percent: 25, without-retries: [Charge]}
        upstream-tls: {ca-file: /etc/protomatch/ca.pem, sni: greeter.internal}
        outlier-detection: {consecutive-errors: 7, consecutive-gateway-errors: 3, base-ejection-time: 1m, max-ejection-percent: 50}
        """)).isEqualTo(new DataPlanePolicy(Optional.of(Duration.ofSeconds(30)), new CircuitBreakers(100, 200, 300),
        new Retries(true, List.of("connect-failure", "reset"), 3, OptionalInt.of(25), new TreeSet<>(List.of("Charge"))),
        Optional.of(new UpstreamTls(Path.of("/etc/protomatch/ca.pem"), Optional.of("greeter.internal"))),
        Optional.of(new OutlierDetection(7, 3, Duration.ofMinutes(1), 50))));
  }

  @Test
  void unsetCircuitBreakersStayUnlimited() {
    assertThat(dataPlane("circuit-breakers: {max-requests: 5000}").circuitBreakers())
        .isEqualTo(new CircuitBreakers(CircuitBreakers.UNLIMITED, CircuitBreakers.UNLIMITED, 5000));
  }

  @Test
  void retriesCanBeTurnedOff() {
    assertThat(dataPlane("retries: {enabled: false}").retries().enabled()).isFalse();
  }

  @Test
  void methodsCanBeOptedOutOfRetries() {
    Retries retries = dataPlane("retries: {without-retries: [Refund, Charge]}").retries();

    assertThat(retries).isEqualTo(new Retries(true, Retries.DEFAULT_RETRY_ON, Retries.DEFAULT_MAX_RETRIES,
        OptionalInt.empty(), new TreeSet<>(List.of("Charge", "Refund"))));
    assertThat(retries.appliesTo("Charge")).isFalse();
    assertThat(retries.appliesTo("GetBalance")).isTrue();
  }

  @Test
  void withoutRetriesMayNameAMethodNoBuildServesYet() {
    // The service's methods are not known to the parser: a method arriving with a later build is accepted.
    assertThat(dataPlane("retries:\n  without-retries: [NotYetShipped]").retries().withoutRetries())
        .containsExactly("NotYetShipped");
  }

  @Test
  void anEmptyWithoutRetriesOptsNothingOut() {
    assertThat(dataPlane("retries: {without-retries: []}").retries()).isEqualTo(Retries.DEFAULTS);
    assertThat(dataPlane("retries: {without-retries: }").retries()).isEqualTo(Retries.DEFAULTS);
  }

  @Test
  void anEmptyOutlierDetectionTurnsItOnWithTheDefaults() {
    assertThat(dataPlane("outlier-detection: {}").outlierDetection())
        .contains(new OutlierDetection(5, 5, Duration.ofSeconds(30), 10));
  }

  @Test
  void tlsWithoutSniVerifiesTheCaOnly() {
    assertThat(dataPlane("upstream-tls: {ca-file: /ca.pem}").upstreamTls())
        .contains(new UpstreamTls(Path.of("/ca.pem"), Optional.empty()));
  }

  @Test
  void maxTimeoutThatIsNotADuration() {
    assertThat(errorsIn(ENTRY + "    max-timeout: forever\n")).containsExactly(
        "policies.yaml:5:18: services[0].max-timeout: expected a duration such as 30s or 500ms, got 'forever'");
  }

  @Test
  void circuitBreakerThatIsZero() {
    assertThat(errorsIn(ENTRY + "    circuit-breakers:\n      max-requests: 0\n")).containsExactly(
        "policies.yaml:6:21: services[0].circuit-breakers.max-requests: expected a positive integer, got the number 0");
  }

  @Test
  void unknownCircuitBreaker() {
    assertThat(errorsIn(ENTRY + "    circuit-breakers:\n      max-streams: 10\n")).containsExactly(
        "policies.yaml:6:7: unknown key 'max-streams' in services[0].circuit-breakers"
            + " (expected one of: max-connections, max-pending-requests, max-requests)");
  }

  @Test
  void unknownRetryCondition() {
    assertThat(errorsIn(ENTRY + "    retries:\n      retry-on: [unavailable, 5xx]\n")).containsExactly(
        "policies.yaml:6:31: services[0].retries.retry-on[1]: unknown retry condition '5xx' (expected one of:"
            + " connect-failure, refused-stream, reset, unavailable, cancelled, deadline-exceeded, internal,"
            + " resource-exhausted)");
  }

  @Test
  void duplicateRetryCondition() {
    assertThat(errorsIn(ENTRY + "    retries:\n      retry-on: [reset, reset]\n")).containsExactly(
        "policies.yaml:6:25: services[0].retries.retry-on[1]: duplicate retry condition 'reset' (first listed at 6:18)");
  }

  @Test
  void retriesEnabledThatIsNotABoolean() {
    assertThat(errorsIn(ENTRY + "    retries:\n      enabled: no-thanks\n")).containsExactly(
        "policies.yaml:6:16: services[0].retries.enabled: expected true or false, got 'no-thanks'");
  }

  @Test
  void budgetAboveOneHundredPercent() {
    assertThat(errorsIn(ENTRY + "    retries:\n      budget-percent: 150\n")).containsExactly(
        "policies.yaml:6:23: services[0].retries.budget-percent: expected a whole percentage from 1 to 100,"
            + " got the number 150");
  }

  @Test
  void withoutRetriesThatIsNotAList() {
    assertThat(errorsIn(ENTRY + "    retries:\n      without-retries: Charge\n")).containsExactly(
        "policies.yaml:6:24: services[0].retries.without-retries: expected a list, got 'Charge'");
  }

  @Test
  void withoutRetriesNamingAFullMethodPath() {
    assertThat(errorsIn(ENTRY + "    retries:\n      without-retries: [Charge, /shop.Checkout/Refund]\n"))
        .containsExactly("policies.yaml:6:33: services[0].retries.without-retries[1]: expected a method name such"
            + " as Charge, got '/shop.Checkout/Refund'");
  }

  @Test
  void withoutRetriesNamingANumber() {
    assertThat(errorsIn(ENTRY + "    retries:\n      without-retries: [42]\n")).containsExactly(
        "policies.yaml:6:25: services[0].retries.without-retries[0]: expected a method name such as Charge,"
            + " got the number 42");
  }

  @Test
  void duplicateMethodWithoutRetries() {
    assertThat(errorsIn(ENTRY + "    retries:\n      without-retries:\n        - Charge\n        - Charge\n"))
        .containsExactly("policies.yaml:8:11: services[0].retries.without-retries[1]: duplicate method 'Charge'"
            + " (first listed at 7:11)");
  }

  @Test
  void tlsWithoutCaFile() {
    assertThat(errorsIn(ENTRY + "    upstream-tls:\n      sni: greeter.internal\n")).containsExactly(
        "policies.yaml:6:7: services[0].upstream-tls: missing required key 'ca-file'");
  }

  @Test
  void tlsCaFileThatIsRelative() {
    assertThat(errorsIn(ENTRY + "    upstream-tls:\n      ca-file: ca.pem\n")).containsExactly(
        "policies.yaml:6:16: services[0].upstream-tls.ca-file: expected an absolute path to a PEM file of CA"
            + " certificates, got 'ca.pem'");
  }

  @Test
  void tlsSniThatIsNotAHostName() {
    assertThat(errorsIn(ENTRY + "    upstream-tls:\n      ca-file: /ca.pem\n      sni: 'greeter internal'\n"))
        .containsExactly("policies.yaml:7:12: services[0].upstream-tls.sni: expected a DNS name such as"
            + " greeter.internal, got 'greeter internal'");
  }

  @Test
  void ejectionPercentThatIsZero() {
    assertThat(errorsIn(ENTRY + "    outlier-detection:\n      max-ejection-percent: 0\n")).containsExactly(
        "policies.yaml:6:29: services[0].outlier-detection.max-ejection-percent: expected a whole percentage"
            + " from 1 to 100, got the number 0");
  }
}
