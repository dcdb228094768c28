package dev.protomatch.policy;

import static dev.protomatch.policy.PolicyFixtures.errorsIn;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatExceptionOfType;

import org.junit.jupiter.api.Test;

/** Files whose shape is wrong: YAML syntax, keys, nesting. Each error names its position and path. */
class PolicyStructureErrorsTest {

  @Test
  void yamlSyntaxErrorIsReportedWhereTheYamlParserFoundIt() {
    assertThat(errorsIn("""
        services: [demo.Greeter, demo.Other
        """)).containsExactly(
        "policies.yaml:2:1: YAML syntax error: expected ',' or ']', but got <stream end>"
            + " (while parsing a flow sequence at 1:11)");
  }

  @Test
  void yamlSyntaxErrorOfIndentation() {
    assertThat(errorsIn("""
        settings:
          lease: 30s
            min-ttl: 5s
        """)).containsExactly("policies.yaml:3:12: YAML syntax error: mapping values are not allowed here");
  }

  @Test
  void tabIsASyntaxErrorThatSaysSo() {
    assertThat(errorsIn("settings:\n\tlease: {}\n")).containsExactly(
        "policies.yaml:2:1: YAML syntax error: found a tab character;"
            + " YAML allows only spaces for indentation and around ':'");
  }

  @Test
  void duplicateKeyInOneMapping() {
    assertThat(errorsIn("""
        services:
          - service: demo.Greeter
            cluster: demo-a
            expect: newest
            cluster: demo-b
        """)).containsExactly("policies.yaml:5:5: duplicate key 'cluster' in services[0] (first at 3:5)");
  }

  @Test
  void duplicateKeyAtTheTopLevel() {
    assertThat(errorsIn("""
        services: []
        services: []
        """)).containsExactly("policies.yaml:2:1: duplicate key 'services' at the top level (first at 1:1)");
  }

  @Test
  void aliasIsRefusedRatherThanReadAsItsName() {
    assertThat(errorsIn("""
        settings:
          probe:
            interval: &every 15s
            max-backoff: *every
        """)).containsExactly(
        "policies.yaml:4:18: settings.probe.max-backoff: YAML aliases (*every) are not supported; write the value out");
  }

  @Test
  void secondDocumentInTheFile() {
    assertThat(errorsIn("""
        services: []
        ---
        services: []
        """)).containsExactly("policies.yaml:3:1: a policy file holds one YAML document, found a second one");
  }

  @Test
  void topLevelThatIsAList() {
    assertThat(errorsIn("""
        - service: demo.Greeter
        """)).containsExactly("policies.yaml:1:1: top level: expected a mapping, got a list");
  }

  @Test
  void topLevelThatIsText() {
    assertThat(errorsIn("demo.Greeter\n"))
        .containsExactly("policies.yaml:1:1: top level: expected a mapping, got 'demo.Greeter'");
  }

  @Test
  void unknownKeyInAServiceListsTheAcceptedOnes() {
    assertThat(errorsIn("""
        settings:
          lease:
            default-ttl: 30s
          probe:
            interval: 15s
          auth:
            insecure: true
        services:
          - service: demo.Greeter
            cluster: demo-greeter
            expect: newest
            clustr: other
        """)).containsExactly("policies.yaml:12:5: unknown key 'clustr' in services[0] (expected one of: service,"
        + " cluster, expect, when-none-qualify, without-reflection, static-endpoints, max-timeout, circuit-breakers,"
        + " retries, upstream-tls, outlier-detection)");
  }

  @Test
  void unknownKeyAtTheTopLevel() {
    assertThat(errorsIn("servics: []\n")).containsExactly(
        "policies.yaml:1:1: unknown key 'servics' at the top level (expected one of: settings, services)");
  }

  @Test
  void unknownKeyInASettingsSection() {
    assertThat(errorsIn("""
        settings:
          lease:
            ttl: 30s
        """)).containsExactly(
        "policies.yaml:3:5: unknown key 'ttl' in settings.lease (expected one of: default-ttl, min-ttl, max-ttl)");
  }

  @Test
  void unknownKeyInExpect() {
    assertThat(errorsIn("""
        services:
          - service: demo.Greeter
            cluster: demo-greeter
            expect:
              methods: [SayHello]
              method: [SayHelloAgain]
        """)).containsExactly(
        "policies.yaml:6:7: unknown key 'method' in services[0].expect (expected one of: api, schema, methods)");
  }

  @Test
  void sectionThatIsNotAMapping() {
    assertThat(errorsIn("""
        settings: [lease]
        """)).containsExactly("policies.yaml:1:11: settings: expected a mapping, got a list");
  }

  @Test
  void servicesThatIsNotAList() {
    assertThat(errorsIn("""
        services:
          service: demo.Greeter
        """)).containsExactly("policies.yaml:2:3: services: expected a list, got a mapping");
  }

  @Test
  void serviceEntryThatIsNotAMapping() {
    assertThat(errorsIn("""
        services:
          - demo.Greeter
        """)).containsExactly("policies.yaml:2:5: services[0]: expected a mapping, got 'demo.Greeter'");
  }

  @Test
  void missingRequiredKeysAreReportedAtTheMapping() {
    assertThat(errorsIn("""
        services:
          - service: demo.Greeter
            when-none-qualify: fail-open
        """)).containsExactly(
        "policies.yaml:2:5: services[0]: missing required key 'cluster'",
        "policies.yaml:2:5: services[0]: missing required key 'expect'");
  }

  @Test
  void everyErrorIsReportedInDocumentOrder() {
    assertThat(errorsIn("""
        services:
          - service: demo.Greeter
            cluster: demo greeter
            expect: newest
            expect: newest
        settings:
          probe:
            interval: soon
        """)).containsExactly(
        "policies.yaml:3:14: services[0].cluster: expected a cluster name of letters, digits, '_', '.' and '-',"
            + " got 'demo greeter'",
        "policies.yaml:5:5: duplicate key 'expect' in services[0] (first at 4:5)",
        "policies.yaml:8:15: settings.probe.interval: expected a duration such as 30s or 500ms, got 'soon'");
  }

  @Test
  void bytesThatAreNotUtf8() {
    byte[] latin1 = "services: []\n# Gr\u00fc\u00dfe\n".getBytes(java.nio.charset.StandardCharsets.ISO_8859_1);

    assertThatExceptionOfType(PolicyValidationException.class)
        .isThrownBy(() -> PolicyFixtures.PARSER.parse("policies.yaml", latin1))
        .withMessage("policies.yaml:1:1: not UTF-8 text");
  }
}
