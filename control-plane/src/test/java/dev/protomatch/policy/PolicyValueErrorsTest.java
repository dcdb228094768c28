package dev.protomatch.policy;

import static dev.protomatch.policy.PolicyFixtures.errorsIn;
import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

/** Values of the right shape but not acceptable: each error says what was expected and what was found. */
class PolicyValueErrorsTest {

  @Test
  void durationThatIsAWord() {
    assertThat(errorsIn("""
        settings:
          lease:
            default-ttl: thirty
        """)).containsExactly(
        "policies.yaml:3:18: settings.lease.default-ttl: expected a duration such as 30s or 500ms, got 'thirty'");
  }

  @Test
  void durationWithoutUnit() {
    assertThat(errorsIn("""
        settings:
          probe:
            timeout: 2
        """)).containsExactly(
        "policies.yaml:3:14: settings.probe.timeout: expected a duration such as 30s or 500ms, got the number 2");
  }

  @Test
  void durationThatIsZero() {
    assertThat(errorsIn("""
        settings:
          probe:
            max-backoff: 0s
        """)).containsExactly(
        "policies.yaml:3:18: settings.probe.max-backoff: expected a duration such as 30s or 500ms, got '0s'");
  }

  @Test
  void durationWithTwoUnits() {
    assertThat(errorsIn("""
        settings:
          probe:
            interval: 1m30s
        """)).containsExactly(
        "policies.yaml:3:15: settings.probe.interval: expected a duration such as 30s or 500ms, got '1m30s'");
  }

  @Test
  void leaseBoundsOutOfOrderAreReportedAtTheLease() {
    assertThat(errorsIn("""
        settings:
          lease:
            min-ttl: 1m
            default-ttl: 30s
        """)).containsExactly("policies.yaml:3:5: settings.lease: expected min-ttl <= default-ttl <= max-ttl,"
        + " got min-ttl 1m, default-ttl 30s, max-ttl 5m");
  }

  @Test
  void concurrencyThatIsZero() {
    assertThat(errorsIn("""
        settings:
          probe:
            concurrency: 0
        """)).containsExactly(
        "policies.yaml:3:18: settings.probe.concurrency: expected a positive integer, got the number 0");
  }

  @Test
  void limitThatIsText() {
    assertThat(errorsIn("""
        settings:
          limits:
            max-message-bytes: 4MiB
        """)).containsExactly(
        "policies.yaml:3:24: settings.limits.max-message-bytes: expected a positive integer, got '4MiB'");
  }

  @Test
  void aWeightCapAboveTheAbsoluteOne() {
    assertThat(errorsIn("""
        settings:
          limits:
            max-weight: 10001
        """)).containsExactly("policies.yaml:3:17: settings.limits.max-weight: expected a weight from 1 to 10000,"
        + " got the number 10001");
  }

  @Test
  void aRegistrationHostThatIsNotAnAddressBlock() {
    assertThat(errorsIn("""
        settings:
          registration:
            identities:
              - {identity: spiffe://a, services: [demo.Greeter], hosts: [pods.example.org]}
        """)).containsExactly("policies.yaml:4:66: settings.registration.identities[0].hosts[0]: expected an IP"
        + " address or CIDR block such as 10.1.0.0/16, got 'pods.example.org'");
  }

  @Test
  void registrationHostsThatIsNeitherOwnNorAny() {
    assertThat(errorsIn("""
        settings:
          registration:
            hosts: everyone
        """)).containsExactly("policies.yaml:3:12: settings.registration.hosts: unknown value 'everyone'"
        + " (expected one of: own, any)");
  }

  @Test
  void limitLargerThanAnInt() {
    assertThat(errorsIn("""
        settings:
          limits:
            max-endpoints-per-client: 3000000000
        """)).containsExactly("policies.yaml:3:31: settings.limits.max-endpoints-per-client:"
        + " expected a positive integer no larger than 2147483647, got the number 3000000000");
  }

  @Test
  void insecureThatIsNotABoolean() {
    assertThat(errorsIn("""
        settings:
          auth:
            insecure: please
        """)).containsExactly(
        "policies.yaml:3:15: settings.auth.insecure: expected true or false, got 'please'");
  }

  @Test
  void unknownEnumValueListsTheAcceptedOnes() {
    assertThat(errorsIn("""
        services:
          - service: demo.Greeter
            cluster: demo-greeter
            expect: newest
            when-none-qualify: fail-closd
        """)).containsExactly("policies.yaml:5:24: services[0].when-none-qualify: unknown value 'fail-closd'"
        + " (expected one of: fail-closed, fail-open)");
  }

  @Test
  void enumValueOfTheWrongType() {
    assertThat(errorsIn("""
        services:
          - service: demo.Greeter
            cluster: demo-greeter
            expect: newest
            without-reflection: false
        """)).containsExactly("policies.yaml:5:25: services[0].without-reflection:"
        + " expected one of: trust-advertised, exclude, got the boolean false");
  }

  @Test
  void serviceNameThatIsNotDottedIdentifiers() {
    assertThat(errorsIn("""
        services:
          - service: demo/Greeter
            cluster: demo-greeter
            expect: newest
        """)).containsExactly("policies.yaml:2:14: services[0].service:"
        + " expected a full service name such as demo.Greeter, got 'demo/Greeter'");
  }

  @Test
  void serviceNameThatIsAList() {
    assertThat(errorsIn("""
        services:
          - service: [demo.Greeter]
            cluster: demo-greeter
            expect: newest
        """)).containsExactly(
        "policies.yaml:2:14: services[0].service: expected a full service name such as demo.Greeter, got a list");
  }

  @Test
  void clusterNameThatYamlReadAsANumberSaysToQuoteIt() {
    assertThat(errorsIn("""
        services:
          - service: demo.Greeter
            cluster: 123
            expect: newest
        """)).containsExactly("policies.yaml:3:14: services[0].cluster: expected a cluster name of letters,"
        + " digits, '_', '.' and '-', got the number 123 (quote it if it is meant as text)");
  }

  @Test
  void duplicateServiceNamesWhereTheFirstWasDeclared() {
    assertThat(errorsIn("""
        services:
          - service: demo.Greeter
            cluster: greeter-a
            expect: newest
          - service: demo.Other
            cluster: other
            expect: newest
          - service: demo.Greeter
            cluster: greeter-b
            expect: newest
        """)).containsExactly(
        "policies.yaml:8:14: services[2].service: duplicate service 'demo.Greeter' (first declared at 2:14)");
  }

  @Test
  void duplicateClusterNamesWhereTheFirstWasDeclared() {
    assertThat(errorsIn("""
        services:
          - service: demo.Greeter
            cluster: shared
            expect: newest
          - service: demo.Other
            cluster: shared
            expect: newest
        """)).containsExactly(
        "policies.yaml:6:14: services[1].cluster: duplicate cluster 'shared' (first declared at 3:14)");
  }

  @Test
  void malformedDescriptorHashReusesTheHashMessage() {
    assertThat(errorsIn("""
        services:
          - service: demo.Greeter
            cluster: greeter
            expect: newest
          - service: demo.Other
            cluster: other
            expect:
              api: sha256:abc
        """)).containsExactly("policies.yaml:8:12: services[1].expect.api: malformed descriptor hash 'sha256:abc'"
        + " (expected sha256: followed by 64 lower-case hex digits)");
  }

  @Test
  void expectWithNoneOfItsKeys() {
    assertThat(errorsIn("""
        services:
          - service: demo.Greeter
            cluster: demo-greeter
            expect: {}
        """)).containsExactly(
        "policies.yaml:4:13: services[0].expect: expected exactly one of api, schema or methods, got none");
  }

  @Test
  void expectWithSeveralOfItsKeys() {
    assertThat(errorsIn("""
        services:
          - service: demo.Greeter
            cluster: demo-greeter
            expect:
              api: sha256:aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa
              methods: [SayHello]
        """)).containsExactly(
        "policies.yaml:5:7: services[0].expect: expected exactly one of api, schema or methods, got api and methods");
  }

  @Test
  void expectThatIsAnUnknownWord() {
    assertThat(errorsIn("""
        services:
          - service: demo.Greeter
            cluster: demo-greeter
            expect: latest
        """)).containsExactly("policies.yaml:4:13: services[0].expect:"
        + " expected 'newest' or a mapping with one of api, schema or methods, got 'latest'");
  }

  @Test
  void expectLeftEmpty() {
    assertThat(errorsIn("""
        services:
          - service: demo.Greeter
            cluster: demo-greeter
            expect:
        """)).containsExactly("policies.yaml:4:12: services[0].expect:"
        + " expected 'newest' or a mapping with one of api, schema or methods, got an empty value");
  }

  @Test
  void emptyMethodList() {
    assertThat(errorsIn("""
        services:
          - service: demo.Greeter
            cluster: demo-greeter
            expect:
              methods: []
        """)).containsExactly(
        "policies.yaml:5:16: services[0].expect.methods: expected a non-empty list of method names, got an empty list");
  }

  @Test
  void methodsGivenAsOneString() {
    assertThat(errorsIn("""
        services:
          - service: demo.Greeter
            cluster: demo-greeter
            expect:
              methods: SayHello
        """)).containsExactly(
        "policies.yaml:5:16: services[0].expect.methods: expected a non-empty list of method names, got 'SayHello'");
  }

  @Test
  void methodThatIsNotAnIdentifier() {
    assertThat(errorsIn("""
        services:
          - service: demo.Greeter
            cluster: demo-greeter
            expect:
              methods: [SayHello, demo.Greeter/SayHelloAgain]
        """)).containsExactly("policies.yaml:5:27: services[0].expect.methods[1]:"
        + " expected a method name such as SayHello, got 'demo.Greeter/SayHelloAgain'");
  }

  @Test
  void duplicateMethod() {
    assertThat(errorsIn("""
        services:
          - service: demo.Greeter
            cluster: demo-greeter
            expect:
              methods:
                - SayHello
                - SayHelloAgain
                - SayHello
        """)).containsExactly(
        "policies.yaml:8:11: services[0].expect.methods[2]: duplicate method 'SayHello' (first listed at 6:11)");
  }

  @Test
  void staticEndpointWithoutPort() {
    assertThat(errorsIn("""
        services:
          - service: demo.Greeter
            cluster: demo-greeter
            expect: newest
            static-endpoints: [localhost]
        """)).containsExactly("policies.yaml:5:24: services[0].static-endpoints[0]: malformed address 'localhost'"
        + " (expected host:port such as 127.0.0.1:50051, [::1]:50051 or svc.local:443)");
  }

  @Test
  void staticEndpointWithPortOutOfRange() {
    assertThat(errorsIn("""
        services:
          - service: demo.Greeter
            cluster: demo-greeter
            expect: newest
            static-endpoints:
              - 127.0.0.1:65536
        """)).containsExactly("policies.yaml:6:9: services[0].static-endpoints[0]:"
        + " port 65536 of '127.0.0.1:65536' is out of range (expected 1..65535)");
  }

  @Test
  void staticEndpointThatIsANumber() {
    assertThat(errorsIn("""
        services:
          - service: demo.Greeter
            cluster: demo-greeter
            expect: newest
            static-endpoints:
              - 50051
        """)).containsExactly("policies.yaml:6:9: services[0].static-endpoints[0]:"
        + " expected host:port such as 127.0.0.1:50051, got the number 50051");
  }

  @Test
  void duplicateStaticEndpoint() {
    assertThat(errorsIn("""
        services:
          - service: demo.Greeter
            cluster: demo-greeter
            expect: newest
            static-endpoints:
              - "[::1]:50051"
              - 10.0.0.7:50051
              - "[::1]:50051"
        """)).containsExactly("policies.yaml:8:9: services[0].static-endpoints[2]:"
        + " duplicate endpoint '[::1]:50051' (first listed at 6:9)");
  }
}
