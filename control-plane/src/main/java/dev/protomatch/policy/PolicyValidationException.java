package dev.protomatch.policy;

import java.util.List;
import java.util.stream.Collectors;

/**
 * A policy file that cannot be applied, with every problem found in it (not just the first), in document
 * order. The message is the errors, one per line; no stack trace is recorded because the file, not the
 * code, is at fault.
 */
public final class PolicyValidationException extends RuntimeException {
  private static final long serialVersionUID = 1L;

  private final transient List<PolicyError> errors;

  public PolicyValidationException(List<PolicyError> errors) {
    super(errors.stream().map(PolicyError::toString).collect(Collectors.joining("\n")), null, false, false);
    if (errors.isEmpty()) {
      throw new IllegalArgumentException("a validation failure needs at least one error");
    }
    this.errors = List.copyOf(errors);
  }

  /** Every error, sorted by position. */
  public List<PolicyError> errors() {
    return errors;
  }
}
