package dev.protomatch.policy;

import java.time.Instant;
import java.util.List;

/**
 * What happened to one attempt to change the policy in force: accepted (possibly with no change, when
 * the content was the same), or refused with the errors that made the file unusable, in which case the
 * last good policy stays.
 */
public record ReloadOutcome(Instant at, boolean accepted, List<PolicyError> errors) {
  public ReloadOutcome {
    errors = List.copyOf(errors);
    if (accepted != errors.isEmpty()) {
      throw new IllegalArgumentException("an outcome is accepted exactly when it has no errors");
    }
  }
}
