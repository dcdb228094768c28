package dev.protomatch.cli;

import static org.assertj.core.api.Assertions.assertThat;

import dev.protomatch.admin.AdminViews;
import dev.protomatch.policy.PolicyDocument;
import dev.protomatch.policy.PolicyLocations;
import dev.protomatch.policy.PolicyParser;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * Which endpoints of /v1/endpoints count as live builds for {@code validate --against}, and what a required method
 * nobody serves leads to under fail-open. (Against a running control plane: ValidateAgainstTest.)
 */
class UnservedMethodWarningsTest {
  private static final String V1 = "sha256:" + "1".repeat(64);
  private static final String V2 = "sha256:" + "2".repeat(64);
  private static final String ADMIN = "127.0.0.1:18002";

  @Test
  void expiredLeasesAreNotLiveAndUnknownMethodsServeNothing() {
    String yaml = """
        settings: {auth: {insecure: true}}
        services:
          - service: demo.Greeter
            cluster: demo-greeter
            expect: {methods: [SayHello, SayHelloAgain]}
        """;
    AdminViews.Endpoints fleet = new AdminViews.Endpoints(7, List.of(
        endpoint("127.0.0.1:1", false, build(V1, null, List.of("SayHello"))),
        endpoint("127.0.0.1:2", true, build(V2, V2, List.of("SayHello", "SayHelloAgain"))),
        endpoint("127.0.0.1:3", false, build(V2, null, null))));

    assertThat(warnings(yaml, fleet)).containsExactly("f.yaml:5:34: services[0].expect.methods[1]: no live endpoint"
        + " of demo.Greeter serves SayHelloAgain (its calls would fail closed); live builds at " + ADMIN + ":"
        + " sha256:11111111.. serves SayHello; 1 endpoint whose methods are not known yet");
  }

  @Test
  void underFailOpenARequiredMethodNobodyServesReachesEndpointsWithoutIt() {
    String yaml = """
        settings: {auth: {insecure: true}}
        services:
          - service: demo.Greeter
            cluster: demo-greeter
            expect: {methods: [SayHelloAgain]}
            when-none-qualify: fail-open
        """;
    AdminViews.Endpoints fleet = new AdminViews.Endpoints(7, List.of(
        endpoint("127.0.0.1:1", false, build(V1, V1, List.of("SayHello")))));

    assertThat(warnings(yaml, fleet)).containsExactly("f.yaml:5:24: services[0].expect.methods[0]: no live endpoint"
        + " of demo.Greeter serves SayHelloAgain (no build qualifies, so fail-open would send its calls to endpoints"
        + " without it); live builds at " + ADMIN + ": sha256:11111111.. serves SayHello");
  }

  private static List<String> warnings(String yaml, AdminViews.Endpoints fleet) {
    PolicyDocument document = PolicyParser.withoutReferenceChecks().parse("f.yaml", yaml);
    return UnservedMethodWarnings.of("f.yaml", document, PolicyLocations.of(yaml).methods(), fleet, ADMIN).stream()
        .map(Object::toString).toList();
  }

  private static AdminViews.ServiceBuild build(String advertised, String probed, List<String> methods) {
    return new AdminViews.ServiceBuild("demo.Greeter", advertised, null, probed, null, methods);
  }

  private static AdminViews.Endpoint endpoint(String address, boolean expired, AdminViews.ServiceBuild build) {
    return new AdminViews.Endpoint(address, "registration", "127.0.0.1", "2026-11-26T00:00:00Z",
        new AdminViews.Lease(30, "2026-11-26T00:00:30Z", expired), null, Map.of(), 1, List.of(build), null);
  }
}
