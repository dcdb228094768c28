package dev.protomatch.envoyconfig;

import static org.assertj.core.api.Assertions.assertThat;

import dev.protomatch.policy.PolicyDocument;
import dev.protomatch.policy.PolicyParser;
import dev.protomatch.policy.ServicePolicy;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** The documented example policy is one the control plane accepts. */
class ExamplePolicyTest {
  static final Path EXAMPLE = Path.of("policies.yaml");

  @Test
  void exampleParsesWithoutErrors() throws IOException {
    PolicyParser parser = new PolicyParser(Map.of("PROTOMATCH_REGISTRATION_TOKEN", "s3cret")::get, file -> false);

    PolicyDocument document = parser.parse(EXAMPLE.toString(), Files.readAllBytes(EXAMPLE));

    assertThat(document.services()).extracting(ServicePolicy::service)
        .containsExactly("demo.Greeter", "shop.v1.Checkout", "catalog.v1.CatalogService");
    assertThat(document.settings().auth().tokenEnv()).contains("PROTOMATCH_REGISTRATION_TOKEN");
  }
}
