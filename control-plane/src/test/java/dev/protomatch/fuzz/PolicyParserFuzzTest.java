package dev.protomatch.fuzz;

import com.code_intelligence.jazzer.junit.DictionaryEntries;
import com.code_intelligence.jazzer.junit.FuzzTest;
import dev.protomatch.policy.PolicyDocument;
import dev.protomatch.policy.PolicyError;
import dev.protomatch.policy.PolicyParser;
import dev.protomatch.policy.PolicyValidationException;

/**
 * Fuzzes the policy parser ({@link PolicyParser#parse(String, byte[])}: UTF-8 check, YAML reader, value
 * checks) with a policy file's bytes.
 *
 * <p>Property: every input ends in a {@link PolicyDocument} or a {@link PolicyValidationException} whose every
 * error has a position (line and column from 1) and a message; any other exception or error is a finding. The
 * parser checks no references here ({@link PolicyParser#withoutReferenceChecks()}), so runs do not depend on
 * the machine's files or environment.
 *
 * <p>Seeds in {@code PolicyParserFuzzTestInputs/parse}: envoy-config/policies.yaml and the examples of
 * docs/policies.md. The dictionary holds the format's keys, so mutations reach the value checks rather than
 * stopping at unknown keys.
 */
class PolicyParserFuzzTest {
  private static final PolicyParser PARSER = PolicyParser.withoutReferenceChecks();

  @FuzzTest(maxDuration = "30s")
  @DictionaryEntries({
      "settings:", "services:", "lease:", "probe:", "auth:", "limits:", "default-ttl:", "min-ttl:", "max-ttl:",
      "interval:", "timeout:", "concurrency:", "max-backoff:", "token-file:", "token-env:", "insecure:",
      "max-message-bytes:", "max-services-per-endpoint:", "max-endpoints-per-client:", "max-weight:",
      "- service:", "cluster:", "expect:", "when-none-qualify:", "without-reflection:", "static-endpoints:",
      "max-timeout:", "circuit-breakers:", "retries:", "upstream-tls:", "outlier-detection:", "api:", "schema:",
      "methods:", "max-connections:", "max-pending-requests:", "max-requests:", "enabled:", "retry-on:",
      "max-retries:", "budget-percent:", "without-retries:", "ca-file:", "sni:", "consecutive-errors:",
      "consecutive-gateway-errors:", "base-ejection-time:", "max-ejection-percent:", "sha256:", "demo.Greeter",
      "127.0.0.1:50051", "[::1]:50051", "&a ", "*a", "!!binary ", "---", "{", "[", "\t", "\"", "'", "|", ">"})
  void parse(byte[] input) {
    try {
      if (PARSER.parse("fuzz.yaml", input) == null) {
        throw new AssertionError("parse returned null");
      }
    } catch (PolicyValidationException e) {
      if (e.errors().isEmpty()) {
        throw new AssertionError("a validation failure without errors");
      }
      for (PolicyError error : e.errors()) {
        if (error.line() < 1 || error.column() < 1) {
          throw new AssertionError("an error without a position: " + error);
        }
        FuzzTargets.requireClearMessage(error.message(), input);
      }
    }
  }
}
