package dev.protomatch.registration;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.protomatch.api.v1.Endpoint;
import dev.protomatch.api.v1.RegisterRequest;
import dev.protomatch.api.v1.ServiceAdvertisement;
import dev.protomatch.descriptor.DescriptorHasher;
import dev.protomatch.policy.Settings;
import dev.protomatch.registry.EndpointAddress;
import dev.protomatch.registry.EndpointRegistration;
import io.grpc.Status;
import io.grpc.StatusException;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.ValueSource;

/** What a registration's address and weight must be: an IP literal (one key per address) and a capped weight. */
class RegistrationValidatorTest {
  private static final Settings.Limits LIMITS = Settings.defaults().limits();

  private final RegistrationValidator validator = new RegistrationValidator(new DescriptorHasher());

  @ParameterizedTest
  @ValueSource(strings = {"svc.local", "localhost", "greeter-0.greeter.default.svc.cluster.local", "10.1", "010.0.0.1",
      "1.2.3.4.5", "::1::", "[::1", "127.0.0.1 "})
  void aHostThatIsNotAnIpLiteralIsRefusedNamingTheField(String host) {
    assertInvalid(endpoint(host, 1), "endpoint.host: '" + host + "' is not an IP address; register the address the"
        + " process listens on (IPv4 or IPv6 literal)");
  }

  @ParameterizedTest
  @CsvSource({
      "127.0.0.1, 127.0.0.1",
      "::1, ::1",
      "0:0:0:0:0:0:0:1, ::1",
      "[::1], ::1",
      "0000:0000::0001, ::1",
      "2001:DB8:0:0:0:0:0:1, 2001:db8::1",
      "2001:db8:0:0:1:0:0:1, 2001:db8::1:0:0:1",
      "::ffff:10.0.0.1, 10.0.0.1"})
  void everySpellingOfOneAddressIsOneKey(String host, String key) throws StatusException {
    assertThat(validate(endpoint(host, 1)).address()).isEqualTo(new EndpointAddress(key, 50051));
  }

  @Test
  void aZoneIndexIsRefused() {
    assertInvalid(endpoint("fe80::1%eth0", 1), "endpoint.host: 'fe80::1%eth0' has a zone index; register an address"
        + " other hosts can reach (not link-local)");
  }

  @ParameterizedTest
  @ValueSource(strings = {"0.0.0.0", "::", "0:0:0:0:0:0:0:0"})
  void theWildcardAddressIsRefused(String host) {
    assertInvalid(endpoint(host, 1), "endpoint.host: '" + host + "' is the wildcard address; register the address"
        + " clients can reach the process at");
  }

  @ParameterizedTest
  @CsvSource({"0, 1", "1, 1", "250, 250", "1000, 1000"})
  void weightsUpToTheCapAreKeptAndZeroMeansOne(int requested, int kept) throws StatusException {
    assertThat(validate(endpoint("10.0.0.1", requested)).weight()).isEqualTo(kept);
  }

  @Test
  void aWeightAboveTheCapIsRefused() {
    assertInvalid(endpoint("10.0.0.1", 1_001),
        "endpoint.weight must be within 1..1000 (0 means 1; settings.limits.max-weight), got 1001");
    assertInvalid(endpoint("10.0.0.1", -1),
        "endpoint.weight must be within 1..1000 (0 means 1; settings.limits.max-weight), got 4294967295");
  }

  @Test
  void thePolicyCanRaiseTheWeightCapUpToTheAbsoluteOne() throws StatusException {
    Settings.Limits raised = new Settings.Limits(LIMITS.maxMessageBytes(), LIMITS.maxServicesPerEndpoint(),
        LIMITS.maxEndpointsPerClient(), EndpointRegistration.MAX_WEIGHT);
    assertThat(validator.validate(RegisterRequest.newBuilder().setEndpoint(endpoint("10.0.0.1", 10_000)).build(),
        "agent-1", raised).weight()).isEqualTo(10_000);
  }

  @Test
  void aTtlThatIsNotAValidDurationIsRefused() {
    // Found by RegistrationValidatorFuzzTest's helper: Durations.toMillis threw out of register(): UNKNOWN.
    RegisterRequest request = RegisterRequest.newBuilder().setEndpoint(endpoint("10.0.0.1", 1))
        .setTtl(com.google.protobuf.Duration.newBuilder().setSeconds(1).setNanos(-1)).build();
    assertThatThrownBy(() -> validator.validate(request, "agent-1", LIMITS)).isInstanceOfSatisfying(StatusException.class,
        e -> assertThat(e.getStatus().getDescription()).isEqualTo("ttl: not a valid duration (seconds 1, nanos -1;"
            + " both must have the same sign and nanos at most 999,999,999)"));
  }

  @Test
  void labelsAreBoundedInNumberAndLength() throws StatusException {
    Endpoint.Builder many = endpoint("10.0.0.1", 1).toBuilder();
    for (int i = 0; i <= RegistrationValidator.MAX_LABELS; i++) {
      many.putLabels("k" + i, "v");
    }
    assertInvalid(many.build(), "endpoint.labels: 65 labels, at most 64 accepted");
    assertInvalid(endpoint("10.0.0.1", 1).toBuilder().putLabels("k".repeat(254), "v").build(),
        "endpoint.labels: a key must have 1..253 characters, got one of 254");
    assertInvalid(endpoint("10.0.0.1", 1).toBuilder().putLabels("", "v").build(),
        "endpoint.labels: a key must have 1..253 characters, got one of 0");
    assertInvalid(endpoint("10.0.0.1", 1).toBuilder().putLabels("track\n", "v".repeat(254)).build(),
        "endpoint.labels[track\\u000a]: a value must have at most 253 characters, got 254");
    assertThat(validate(endpoint("10.0.0.1", 1).toBuilder().putLabels("k".repeat(253), "v".repeat(253)).build())
        .labels()).containsEntry("k".repeat(253), "v".repeat(253));
  }

  @Test
  void localityFieldsAndServiceNamesAreBounded() throws StatusException {
    assertInvalid(endpoint("10.0.0.1", 1).toBuilder().setLocality(
            dev.protomatch.api.v1.Locality.newBuilder().setZone("z".repeat(254))).build(),
        "endpoint.locality.zone: at most 253 characters, got 254");
    assertInvalid(endpoint("10.0.0.1", 1).toBuilder().setServices(0,
            ServiceAdvertisement.newBuilder().setName("a".repeat(254)).setApiHash("sha256:" + "a".repeat(64))).build(),
        "endpoint.services[0].name: at most 253 characters, got 254");
    assertThat(validate(endpoint("10.0.0.1", 1).toBuilder().setLocality(
        dev.protomatch.api.v1.Locality.newBuilder().setRegion("r".repeat(253))).build()).locality().region())
        .hasSize(253);
  }

  @Test
  void aRefusalQuotesTheRegistrantsTextWithoutControlCharacters() {
    assertInvalid(endpoint("10.0.0.1\nFAKE log line", 1), "endpoint.host: '10.0.0.1\\u000aFAKE log line' is not an"
        + " IP address; register the address the process listens on (IPv4 or IPv6 literal)");
    assertInvalid(endpoint("x".repeat(254), 1), "endpoint.host: 254 characters is not an IP address");
  }

  private EndpointRegistration validate(Endpoint endpoint) throws StatusException {
    return validator.validate(RegisterRequest.newBuilder().setEndpoint(endpoint).build(), "agent-1", LIMITS);
  }

  private void assertInvalid(Endpoint endpoint, String description) {
    assertThatThrownBy(() -> validate(endpoint)).isInstanceOfSatisfying(StatusException.class, e -> {
      assertThat(e.getStatus().getCode()).isEqualTo(Status.Code.INVALID_ARGUMENT);
      assertThat(e.getStatus().getDescription()).isEqualTo(description);
    });
  }

  private static Endpoint endpoint(String host, int weight) {
    return Endpoint.newBuilder().setHost(host).setPort(50051).setWeight(weight)
        .addServices(ServiceAdvertisement.newBuilder().setName("demo.Greeter").setApiHash("sha256:" + "a".repeat(64)))
        .build();
  }
}
