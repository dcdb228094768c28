package dev.protomatch.policy;

import dev.protomatch.descriptor.DescriptorHash;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Set;

/** A parser whose machine is fixed in code, and a way to read the errors of a document. */
final class PolicyFixtures {
  static final String FILE = "policies.yaml";
  static final String TOKEN_VARIABLE = "PROTOMATCH_REGISTRATION_TOKEN";
  static final Path TOKEN_FILE = Path.of("/etc/protomatch/registration-token");
  static final DescriptorHash HASH_A = DescriptorHash.parse("sha256:" + "a".repeat(64));

  /** Knows one environment variable, {@link #TOKEN_VARIABLE}, and one readable file, {@link #TOKEN_FILE}. */
  static final PolicyParser PARSER =
      new PolicyParser(Map.of(TOKEN_VARIABLE, "s3cret")::get, Set.of(TOKEN_FILE)::contains);

  private PolicyFixtures() {}

  static PolicyDocument parse(String yaml) {
    return PARSER.parse(FILE, yaml);
  }

  /** Every error of a document that must not parse, as {@code file:line:column: message}. */
  static List<String> errorsIn(String yaml) {
    return errorsIn(PARSER, yaml);
  }

  static List<String> errorsIn(PolicyParser parser, String yaml) {
    try {
      parser.parse(FILE, yaml);
    } catch (PolicyValidationException e) {
      return e.errors().stream().map(PolicyError::toString).toList();
    }
    throw new AssertionError("expected errors, but the document parsed:\n" + yaml);
  }
}
