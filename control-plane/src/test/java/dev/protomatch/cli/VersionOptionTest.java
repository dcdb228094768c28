package dev.protomatch.cli;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/** {@code -V} and {@code --version} print protomatch's version on the top command and on every subcommand. */
class VersionOptionTest {
  @ParameterizedTest
  @ValueSource(strings = {"", "serve", "demo", "status", "hash", "validate", "greeter", "demo-client", "bootstrap"})
  void everyCommandPrintsTheVersion(String subcommand) {
    for (String option : new String[] {"-V", "--version"}) {
      CliRun run = subcommand.isEmpty() ? CliRun.of(option) : CliRun.of(subcommand, option);

      assertThat(run.exit()).isZero();
      assertThat(run.out()).isEqualTo("protomatch 0.1.0" + System.lineSeparator());
      assertThat(run.err()).isEmpty();
    }
  }
}
