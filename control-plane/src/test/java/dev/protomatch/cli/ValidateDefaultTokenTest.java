package dev.protomatch.cli;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import dev.protomatch.demo.ProtomatchProcess;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code protomatch validate} run as a process, with and without {@code PROTOMATCH_REGISTRATION_TOKEN} in its
 * environment: the documented example (which names the variable) and an empty file (which gets it as the default)
 * are both warned about while it is unset, and neither once it is set.
 */
class ValidateDefaultTokenTest {
  private static final String VARIABLE = "PROTOMATCH_REGISTRATION_TOKEN";
  private static final Path DOCUMENTED_EXAMPLE =
      Path.of("").toAbsolutePath().getParent().resolve("envoy-config/policies.yaml");

  @TempDir
  Path dir;

  @Test
  void theDocumentedExampleAndAnEmptyFileAreWarnedAboutAlikeWhileTheVariableIsUnset() throws Exception {
    assumeTrue(System.getenv(VARIABLE) == null, VARIABLE + " is set in this test's environment");
    Path empty = Files.writeString(dir.resolve("empty.yaml"), "");

    String example = validate(DOCUMENTED_EXAMPLE, Map.of());
    String emptyFile = validate(empty, Map.of());

    assertThat(example.lines()).filteredOn(line -> line.contains(": warning: ")).singleElement().asString()
        .startsWith(DOCUMENTED_EXAMPLE + ":").contains(": warning: settings.auth.token-env: environment variable '"
            + VARIABLE + "' is not set on this machine");
    assertThat(emptyFile.lines()).filteredOn(line -> line.contains(": warning: ")).singleElement().asString()
        .startsWith(empty + ":1:1: warning: settings.auth.token-env: environment variable '" + VARIABLE
            + "' is not set on this machine");
    assertThat(example).endsWith(": ok (3 services)\n");
    assertThat(emptyFile).isEqualTo(emptyFile.lines().findFirst().orElseThrow() + "\n" + empty
        + ": ok (0 services)\n");
  }

  @Test
  void neitherIsWarnedAboutOnceTheVariableHoldsAToken() throws Exception {
    Path empty = Files.writeString(dir.resolve("empty.yaml"), "");

    assertThat(validate(DOCUMENTED_EXAMPLE, Map.of(VARIABLE, "s3cret")))
        .isEqualTo(DOCUMENTED_EXAMPLE + ": ok (3 services)\n");
    assertThat(validate(empty, Map.of(VARIABLE, "s3cret"))).isEqualTo(empty + ": ok (0 services)\n");
  }

  private String validate(Path file, Map<String, String> environment) throws Exception {
    try (ProtomatchProcess process = ProtomatchProcess.start(List.of("validate", file.toString()), environment,
        dir.resolve("stderr.log"))) {
      String out = process.awaitOutput(Duration.ofSeconds(60));
      assertThat(process.exitValue()).as("exit code of validate %s; stderr: %s", file,
          Files.readString(dir.resolve("stderr.log"))).isZero();
      return out;
    }
  }
}
