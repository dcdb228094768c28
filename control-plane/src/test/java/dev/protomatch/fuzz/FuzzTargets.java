package dev.protomatch.fuzz;

import java.util.HexFormat;

/**
 * What the fuzz tests in this package share: the check that an error is one a user can act on.
 *
 * <p>Every {@code ./mvnw test} runs each fuzz test on its committed seeds only (regression mode, files in
 * {@code <TestClass>Inputs/<method>/} under src/test/resources). {@code ./mvnw verify} then fuzzes each target in
 * a JVM of its own (Jazzer fuzzes one fuzz test per JVM) for {@code protomatch.fuzz.duration} (25s), in the
 * {@code fuzz-*} surefire executions of control-plane/pom.xml; {@code -Dprotomatch.fuzz.skip} leaves them out.
 * One target for longer: {@code JAZZER_FUZZ=1 ./mvnw -pl control-plane test -Dtest=PolicyParserFuzzTest
 * -Djazzer.max_duration=10m}.
 */
final class FuzzTargets {
  private FuzzTargets() {}

  /** A user error must say something: a null or blank message is a finding. */
  static void requireClearMessage(String message, byte[] input) {
    if (message == null || message.isBlank()) {
      throw new AssertionError("an error without a message for input " + HexFormat.of().formatHex(input));
    }
  }
}
