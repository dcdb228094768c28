package dev.protomatch.policy;

import java.util.ArrayList;
import java.util.List;

/**
 * Collects the errors of one parse so that all of them are reported at once. Errors at the same position
 * keep the order in which they were found.
 */
final class PolicyErrors {
  private final String file;
  private final List<PolicyError> errors = new ArrayList<>();

  PolicyErrors(String file) {
    this.file = file;
  }

  void add(int line, int column, String message) {
    errors.add(new PolicyError(file, line, column, message));
  }

  void add(YamlNode at, String message) {
    add(at.line(), at.column(), message);
  }

  int count() {
    return errors.size();
  }

  /** Throws the collected errors in document order, if there are any. */
  void throwIfAny() {
    if (!errors.isEmpty()) {
      List<PolicyError> sorted = new ArrayList<>(errors);
      sorted.sort(PolicyError.BY_POSITION);
      throw new PolicyValidationException(sorted);
    }
  }
}
