package dev.protomatch.envoyconfig;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.dataformat.yaml.YAMLMapper;
import com.networknt.schema.JsonSchema;
import com.networknt.schema.JsonSchemaFactory;
import com.networknt.schema.SpecVersion;
import com.networknt.schema.ValidationMessage;
import dev.protomatch.policy.PolicyParser;
import dev.protomatch.policy.PolicyValidationException;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * {@code policies.schema.json} describes the format the parser reads: the same keys at every level, and
 * the same verdict on sample documents. Editors use the schema; the control plane uses the parser.
 */
class PolicySchemaTest {
  private static final Path SCHEMA = Path.of("policies.schema.json");
  private static final ObjectMapper JSON = new ObjectMapper();
  private static final YAMLMapper YAML = new YAMLMapper();

  @Test
  void schemaAcceptsTheSameKeysAsTheParserAtEveryLevel() throws IOException {
    JsonNode schema = JSON.readTree(SCHEMA.toFile());
    Map<String, Set<String>> schemaLevels = new TreeMap<>();
    collectLevels(schema, schema, "", schemaLevels);

    Map<String, Set<String>> parserLevels = new TreeMap<>();
    PolicyParser.ACCEPTED_KEYS.forEach((path, keys) -> parserLevels.put(path, Set.copyOf(keys)));

    assertThat(schemaLevels).isEqualTo(parserLevels);
  }

  @Test
  void schemaAcceptsTheExample() throws IOException {
    assertThat(schemaErrors(Files.readString(ExamplePolicyTest.EXAMPLE))).isEmpty();
  }

  @ParameterizedTest
  @ValueSource(strings = {
      "",
      "settings:\n  lease:\n  auth:\n",
      "settings: {auth: {token-file: /run/token, insecure: false}}",
      "services:\n  - {service: demo.Greeter, cluster: g, expect: newest, static-endpoints: ['[::1]:1']}",
      "services:\n  - {service: a.B, cluster: b, expect: {methods: [M, N]}, when-none-qualify: fail-open}",
      "services:\n  - {service: a.B, cluster: b, expect: newest, max-timeout: 30s, retries: {enabled: false}}",
      "services:\n  - {service: a.B, cluster: b, expect: newest, retries: {retry-on: [reset], budget-percent: 100}}",
      "services:\n  - {service: a.B, cluster: b, expect: newest, retries: {without-retries: [Charge, Refund]}}",
      "services:\n  - {service: a.B, cluster: b, expect: newest, circuit-breakers: {max-requests: 1}, outlier-detection: {}}",
      "services:\n  - {service: a.B, cluster: b, expect: newest, upstream-tls: {ca-file: /ca.pem, sni: b.internal}}",
  })
  void schemaAndParserBothAccept(String yaml) throws IOException {
    assertThat(schemaErrors(yaml)).isEmpty();
    PolicyParser.withoutReferenceChecks().parse("sample.yaml", yaml);
  }

  @ParameterizedTest
  @ValueSource(strings = {
      "servics: []",
      "settings: {lease: {default-ttl: thirty}}",
      "settings: {lease: {default-ttl: 0s}}",
      "settings: {probe: {concurrency: 0}}",
      "settings: {auth: {token-env: X, insecure: true}}",
      "settings: {auth: {insecure: false}}",
      "services: {service: demo.Greeter}",
      "services:\n  - {service: demo.Greeter, cluster: g}",
      "services:\n  - {service: demo/Greeter, cluster: g, expect: newest}",
      "services:\n  - {service: a.B, cluster: 'b c', expect: newest}",
      "services:\n  - {service: a.B, cluster: b, expect: latest}",
      "services:\n  - {service: a.B, cluster: b, expect: {}}",
      "services:\n  - {service: a.B, cluster: b, expect: {methods: []}}",
      "services:\n  - {service: a.B, cluster: b, expect: {methods: [M, M]}}",
      "services:\n  - {service: a.B, cluster: b, expect: {api: 'sha256:abc'}}",
      "services:\n  - {service: a.B, cluster: b, expect: {api: 'sha256:abc', methods: [M]}}",
      "services:\n  - {service: a.B, cluster: b, expect: newest, without-reflection: ignore}",
      "services:\n  - {service: a.B, cluster: b, expect: newest, static-endpoints: [localhost]}",
      "services:\n  - {service: a.B, cluster: b, expect: newest, max-timeout: 0s}",
      "services:\n  - {service: a.B, cluster: b, expect: newest, retries: {retry-on: [5xx]}}",
      "services:\n  - {service: a.B, cluster: b, expect: newest, retries: {retry-on: []}}",
      "services:\n  - {service: a.B, cluster: b, expect: newest, retries: {budget-percent: 0}}",
      "services:\n  - {service: a.B, cluster: b, expect: newest, retries: {without-retries: [M, M]}}",
      "services:\n  - {service: a.B, cluster: b, expect: newest, retries: {without-retries: ['/a.B/M']}}",
      "services:\n  - {service: a.B, cluster: b, expect: newest, retries: {without-retries: M}}",
      "services:\n  - {service: a.B, cluster: b, expect: newest, circuit-breakers: {max-requests: 0}}",
      "services:\n  - {service: a.B, cluster: b, expect: newest, upstream-tls: {sni: b.internal}}",
      "services:\n  - {service: a.B, cluster: b, expect: newest, upstream-tls: {ca-file: ca.pem}}",
      "services:\n  - {service: a.B, cluster: b, expect: newest, outlier-detection: {max-ejection-percent: 101}}",
  })
  void schemaAndParserBothRefuse(String yaml) throws IOException {
    assertThat(schemaErrors(yaml)).isNotEmpty();
    assertThat(refusedByParser(yaml)).isTrue();
  }

  /**
   * Records the {@code properties} of every closed object ({@code additionalProperties: false}) under
   * the document path it describes; {@code services[]} is any entry of {@code services}. Follows local
   * {@code $ref}s, {@code items} and {@code oneOf/anyOf/allOf} branches (which describe the same place).
   */
  private static void collectLevels(JsonNode root, JsonNode node, String path, Map<String, Set<String>> levels) {
    if (node.has("$ref")) {
      String ref = node.get("$ref").asText();
      assertThat(ref).startsWith("#/");
      collectLevels(root, root.at(ref.substring(1)), path, levels);
    }
    JsonNode properties = node.get("properties");
    if (properties != null && node.path("additionalProperties").isBoolean()
        && !node.get("additionalProperties").asBoolean()) {
      Set<String> keys = properties.properties().stream().map(Map.Entry::getKey).collect(Collectors.toSet());
      assertThat(levels.put(path, keys)).as("two closed objects describe %s", path).isNull();
      for (Map.Entry<String, JsonNode> property : properties.properties()) {
        collectLevels(root, property.getValue(), path.isEmpty() ? property.getKey() : path + "." + property.getKey(),
            levels);
      }
    }
    if (node.has("items")) {
      collectLevels(root, node.get("items"), path + "[]", levels);
    }
    for (String combinator : List.of("oneOf", "anyOf", "allOf")) {
      node.path(combinator).forEach(branch -> collectLevels(root, branch, path, levels));
    }
  }

  private static Set<String> schemaErrors(String yaml) throws IOException {
    JsonSchema schema = JsonSchemaFactory.getInstance(SpecVersion.VersionFlag.V202012)
        .getSchema(JSON.readTree(SCHEMA.toFile()));
    JsonNode document = yaml.isBlank() ? JSON.createObjectNode() : YAML.readTree(yaml);
    return schema.validate(document).stream().map(ValidationMessage::getMessage).collect(Collectors.toSet());
  }

  private static boolean refusedByParser(String yaml) {
    try {
      PolicyParser.withoutReferenceChecks().parse("sample.yaml", yaml);
      return false;
    } catch (PolicyValidationException e) {
      return true;
    }
  }
}
