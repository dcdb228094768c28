package dev.protomatch.policy;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatIllegalArgumentException;

import java.util.List;
import org.junit.jupiter.api.Test;

/** The compiler-style form editors and CI annotations understand. */
class PolicyErrorTest {

  @Test
  void printsFileLineColumnAndMessage() {
    assertThat(new PolicyError("conf/policies.yaml", 12, 5, "unknown key 'clustr' in services[0]"))
        .hasToString("conf/policies.yaml:12:5: unknown key 'clustr' in services[0]");
  }

  @Test
  void exceptionMessageIsEveryErrorOnItsOwnLine() {
    PolicyValidationException e = new PolicyValidationException(List.of(
        new PolicyError("p.yaml", 1, 1, "first"), new PolicyError("p.yaml", 2, 3, "second")));

    assertThat(e).hasMessage("p.yaml:1:1: first\np.yaml:2:3: second");
    assertThat(e.getStackTrace()).isEmpty();
  }

  @Test
  void failureWithoutErrorsIsRefused() {
    assertThatIllegalArgumentException().isThrownBy(() -> new PolicyValidationException(List.of()));
  }
}
