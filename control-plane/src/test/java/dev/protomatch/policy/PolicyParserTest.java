package dev.protomatch.policy;

import static dev.protomatch.policy.PolicyFixtures.HASH_A;
import static dev.protomatch.policy.PolicyFixtures.TOKEN_FILE;
import static dev.protomatch.policy.PolicyFixtures.parse;
import static org.assertj.core.api.Assertions.assertThat;

import dev.protomatch.descriptor.DescriptorHash;
import dev.protomatch.descriptor.HashLevel;
import dev.protomatch.policy.ServicePolicy.WhenNoneQualify;
import dev.protomatch.policy.ServicePolicy.WithoutReflection;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.Optional;
import java.util.TreeSet;
import org.junit.jupiter.api.Test;

/** Valid policy files and the records they become. */
class PolicyParserTest {

  @Test
  void fullDocumentBecomesRecords() {
    PolicyDocument document = parse("""
        settings:
          lease:
            default-ttl: 1m
            min-ttl: 500ms
            max-ttl: 2h
          probe:
            interval: 10s
            timeout: 1500ms
            concurrency: 8
            max-backoff: 10m
          auth:
            token-file: /etc/protomatch/registration-token
          limits:
            max-message-bytes: 1048576
            max-services-per-endpoint: 16
            max-endpoints-per-client: 100
        services:
          - service: demo.Greeter
            cluster: demo-greeter
            expect:
              methods: [SayHelloAgain, SayHello]
            when-none-qualify: fail-open
            without-reflection: exclude
            static-endpoints:
              - 127.0.0.1:50051
              - svc.local:443
              - "[::1]:50052"
          - service: shop.v1.Catalog
            cluster: catalog_v1.prod
            expect:
              api: sha256:aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa
          - service: Ping
            cluster: ping
            expect: newest
        """);

    assertThat(document.settings()).isEqualTo(new Settings(
        new Settings.Lease(Duration.ofMinutes(1), Duration.ofMillis(500), Duration.ofHours(2)),
        new Settings.Probe(Duration.ofSeconds(10), Duration.ofMillis(1500), 8, Duration.ofMinutes(10)),
        new Settings.Auth(Optional.of(TOKEN_FILE), Optional.empty(), false),
        new Settings.Limits(1_048_576, 16, 100, 1_000)));
    assertThat(document.services()).containsExactly(
        new ServicePolicy("demo.Greeter", "demo-greeter",
            new Expectation.RequiredMethods(new TreeSet<>(List.of("SayHello", "SayHelloAgain"))),
            WhenNoneQualify.FAIL_OPEN, WithoutReflection.EXCLUDE,
            List.of(new HostPort("127.0.0.1", 50051), new HostPort("svc.local", 443), new HostPort("::1", 50052))),
        new ServicePolicy("shop.v1.Catalog", "catalog_v1.prod", new Expectation.PinnedHash(HashLevel.API, HASH_A),
            WhenNoneQualify.FAIL_CLOSED, WithoutReflection.TRUST_ADVERTISED, List.of()),
        new ServicePolicy("Ping", "ping", new Expectation.Newest(),
            WhenNoneQualify.FAIL_CLOSED, WithoutReflection.TRUST_ADVERTISED, List.of()));
  }

  @Test
  void emptyFileIsEveryDefaultAndNoServices() {
    assertThat(parse("")).isEqualTo(PolicyDocument.empty());
  }

  @Test
  void fileWithOnlyCommentsIsEveryDefault() {
    assertThat(parse("# policies go here\n\n# later\n")).isEqualTo(PolicyDocument.empty());
  }

  @Test
  void documentMarkerAloneIsEveryDefault() {
    assertThat(parse("---\n")).isEqualTo(PolicyDocument.empty());
  }

  @Test
  void absentSettingsAreTheDefaults() {
    PolicyDocument document = parse("""
        services:
          - service: demo.Greeter
            cluster: demo-greeter
            expect: newest
        """);

    assertThat(document.settings()).isEqualTo(Settings.defaults());
    assertThat(document.services()).hasSize(1);
  }

  @Test
  void sectionsLeftEmptyAreTheDefaults() {
    PolicyDocument document = parse("""
        settings:
          lease:
          probe:
        services:
        """);

    assertThat(document).isEqualTo(PolicyDocument.empty());
  }

  @Test
  void aSettingGivenAloneKeepsTheOtherDefaults() {
    PolicyDocument document = parse("""
        settings:
          probe:
            concurrency: 4
        """);

    Settings defaults = Settings.defaults();
    assertThat(document.settings()).isEqualTo(new Settings(defaults.lease(),
        new Settings.Probe(defaults.probe().interval(), defaults.probe().timeout(), 4, defaults.probe().maxBackoff()),
        defaults.auth(), defaults.limits()));
  }

  @Test
  void registrationIdentitiesGrantServicesAndAddressBlocks() {
    Settings.Registration registration = parse("""
        settings:
          registration:
            hosts: own
            identities:
              - identity: spiffe://example.org/ns/prod/sa/greeter
                services: [demo.Greeter]
                hosts: [10.1.0.0/16, fd00::1]
              - identity: registrar.example.org
                services: ["*"]
        """).settings().registration();

    assertThat(registration).isEqualTo(new Settings.Registration(false, List.of(
        new Settings.IdentityGrant("spiffe://example.org/ns/prod/sa/greeter", List.of("demo.Greeter"),
            List.of(AddressBlock.parse("10.1.0.0/16").orElseThrow(), AddressBlock.parse("fd00::1").orElseThrow())),
        new Settings.IdentityGrant("registrar.example.org", List.of("*"), List.of()))));
  }

  @Test
  void registrationDefaultsToOwnAddressesOnly() {
    assertThat(parse("settings: {}").settings().registration()).isEqualTo(Settings.Registration.OWN_ADDRESS_ONLY);
    assertThat(parse("settings: {registration: {hosts: any}}").settings().registration().anyHost()).isTrue();
  }

  @Test
  void tokenEnvironmentVariableThatIsSet() {
    Settings.Auth auth = parse("""
        settings:
          auth:
            token-env: PROTOMATCH_REGISTRATION_TOKEN
        """).settings().auth();

    assertThat(auth).isEqualTo(new Settings.Auth(Optional.empty(), Optional.of("PROTOMATCH_REGISTRATION_TOKEN"), false));
  }

  @Test
  void insecureAuthNeedsNoToken() {
    Settings.Auth auth = parse("""
        settings:
          auth:
            insecure: true
        """).settings().auth();

    assertThat(auth).isEqualTo(Settings.Auth.insecureForDevelopment());
  }

  @Test
  void schemaHashPinsTheSchemaLevel() {
    DescriptorHash hash = DescriptorHash.parse("sha256:" + "0123456789abcdef".repeat(4));

    ServicePolicy policy = parse("""
        services:
          - service: demo.Greeter
            cluster: demo-greeter
            expect: {schema: "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"}
        """).services().get(0);

    assertThat(policy.expect()).isEqualTo(new Expectation.PinnedHash(HashLevel.SCHEMA, hash));
  }

  @Test
  void quotedNumberIsAString() {
    ServicePolicy policy = parse("""
        services:
          - service: demo.Greeter
            cluster: "123"
            expect: newest
        """).services().get(0);

    assertThat(policy.cluster()).isEqualTo("123");
  }

  @Test
  void utf8BytesWithByteOrderMarkAreRead() {
    byte[] content = ("\uFEFF" + """
        # Grüße: the routes of the demo
        services:
          - service: demo.Greeter
            cluster: demo
            expect: newest
        """).getBytes(StandardCharsets.UTF_8);

    assertThat(PolicyFixtures.PARSER.parse("policies.yaml", content).services())
        .extracting(ServicePolicy::cluster).containsExactly("demo");
  }
}
