package dev.protomatch.policy;

import static dev.protomatch.policy.PolicyFixtures.errorsIn;
import static org.assertj.core.api.Assertions.assertThat;

import java.util.Map;
import java.util.Optional;
import org.junit.jupiter.api.Test;

/**
 * {@code settings.auth}: exactly one way to authenticate registrations, and what it refers to must exist
 * on the machine (here, the machine the {@link PolicyFixtures#PARSER} is given).
 */
class PolicyReferenceErrorsTest {

  @Test
  void tokenFileThatCannotBeRead() {
    assertThat(errorsIn("""
        settings:
          auth:
            token-file: /etc/protomatch/missing-token
        """)).containsExactly("policies.yaml:3:17: settings.auth.token-file:"
        + " cannot read token file '/etc/protomatch/missing-token' (it does not exist or is not readable)");
  }

  @Test
  void tokenVariableThatIsNotSet() {
    assertThat(errorsIn("""
        settings:
          auth:
            token-env: REGISTRATION_TOKEN
        """)).containsExactly(
        "policies.yaml:3:16: settings.auth.token-env: environment variable 'REGISTRATION_TOKEN' is not set");
  }

  @Test
  void tokenVariableThatIsEmpty() {
    PolicyParser parser = new PolicyParser(Map.of("REGISTRATION_TOKEN", "")::get, file -> false);

    assertThat(errorsIn(parser, """
        settings:
          auth:
            token-env: REGISTRATION_TOKEN
        """)).containsExactly(
        "policies.yaml:3:16: settings.auth.token-env: environment variable 'REGISTRATION_TOKEN' is empty");
  }

  @Test
  void tokenVariableNameThatCannotBeOne() {
    assertThat(errorsIn("""
        settings:
          auth:
            token-env: $TOKEN
        """)).containsExactly("policies.yaml:3:16: settings.auth.token-env:"
        + " expected an environment variable name such as PROTOMATCH_REGISTRATION_TOKEN, got '$TOKEN'");
  }

  @Test
  void noWayToAuthenticate() {
    assertThat(errorsIn("""
        settings:
          auth:
            insecure: false
        """)).containsExactly(
        "policies.yaml:3:5: settings.auth: expected exactly one of token-file, token-env or insecure: true, got none");
  }

  @Test
  void twoWaysToAuthenticate() {
    assertThat(errorsIn("""
        settings:
          auth:
            token-env: PROTOMATCH_REGISTRATION_TOKEN
            insecure: true
        """)).containsExactly("policies.yaml:3:5: settings.auth:"
        + " expected exactly one of token-file, token-env or insecure: true, got token-env and insecure: true");
  }

  @Test
  void withoutReferenceChecksTheMachineIsNotConsulted() {
    PolicyDocument document = PolicyParser.withoutReferenceChecks().parse("policies.yaml", """
        settings:
          auth:
            token-file: /nonexistent/token
        """);

    assertThat(document.settings().auth().tokenFile()).contains(java.nio.file.Path.of("/nonexistent/token"));
    assertThat(document.settings().auth().tokenEnv()).isEqualTo(Optional.empty());
  }
}
