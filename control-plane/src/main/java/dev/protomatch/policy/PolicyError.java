package dev.protomatch.policy;

import java.util.Comparator;

/**
 * One problem in a policy file, at a 1-based line and column, in the form compilers use so editors and
 * CI annotations can jump to it. Problems with the whole file (it cannot be read, it is not UTF-8) are
 * reported at 1:1.
 */
public record PolicyError(String file, int line, int column, String message) {
  /** Document order: by line, then column. */
  public static final Comparator<PolicyError> BY_POSITION =
      Comparator.comparingInt(PolicyError::line).thenComparingInt(PolicyError::column);

  /** {@code file:line:column: message}. */
  @Override
  public String toString() {
    return file + ":" + line + ":" + column + ": " + message;
  }
}
