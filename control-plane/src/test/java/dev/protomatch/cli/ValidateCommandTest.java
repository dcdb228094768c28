package dev.protomatch.cli;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@code protomatch validate}: ok line and exit 0, or every error as file:line:column and exit 2. */
class ValidateCommandTest {
  private static final String TWO_SERVICES = """
      settings:
        auth:
          insecure: true
      services:
        - service: demo.Greeter
          cluster: demo-greeter
          expect:
            methods: [SayHello, SayHelloAgain]
        - service: shop.Catalog
          cluster: catalog
          expect: newest
      """;

  @TempDir
  Path dir;

  @Test
  void validFileIsOkWithItsServiceCount() throws IOException {
    Path file = write("policies.yaml", TWO_SERVICES);

    CliRun run = CliRun.of("validate", file.toString());

    assertThat(run).isEqualTo(new CliRun(0, file + ": ok (2 services)\n", ""));
  }

  @Test
  void likelyMisspeltMethodNamesAreWarnedAboutButTheFileIsOk() throws IOException {
    Path file = write("policies.yaml", """
        settings:
          auth:
            insecure: true
        services:
          - service: demo.Greeter
            cluster: demo-greeter
            expect: {methods: [SayHello, SayHelloAgain, SayHelloAgian]}
        """);

    CliRun run = CliRun.of("validate", file.toString());

    assertThat(run).isEqualTo(new CliRun(0, file + ": warning: services[0] (demo.Greeter): required methods"
        + " SayHelloAgain and SayHelloAgian differ by a letter or two; is one of them misspelt?\n"
        + file + ": ok (1 service)\n", ""));
  }

  @Test
  void emptyFileIsOkWithTheDefaultTokenVariableWarnedAboutWhenUnset() throws IOException {
    assumeTrue(System.getenv("PROTOMATCH_REGISTRATION_TOKEN") == null, "PROTOMATCH_REGISTRATION_TOKEN is set here");
    Path file = write("policies.yaml", "");

    CliRun run = CliRun.of("validate", file.toString());

    assertThat(run).isEqualTo(new CliRun(0, file + ":1:1: warning: settings.auth.token-env: environment variable"
        + " 'PROTOMATCH_REGISTRATION_TOKEN' is not set on this machine (the default: the file sets no settings.auth);"
        + " serve starts but refuses every registration where this holds\n" + file + ": ok (0 services)\n", ""));
  }

  @Test
  void emptyFileIsOkWithoutWarningsWhenReferenceChecksAreSkipped() throws IOException {
    Path file = write("policies.yaml", "");

    CliRun run = CliRun.of("validate", "--skip-reference-checks", file.toString());

    assertThat(run).isEqualTo(new CliRun(0, file + ": ok (0 services)\n", ""));
  }

  @Test
  void aMethodNamedTwiceInOneListIsAnErrorInEitherList() throws IOException {
    Path file = write("policies.yaml", """
        settings:
          auth:
            insecure: true
        services:
          - service: shop.Checkout
            cluster: checkout
            expect: {methods: [Charge, Refund, Charge]}
            retries: {without-retries: [Refund, Refund]}
        """);

    CliRun run = CliRun.of("validate", file.toString());

    assertThat(run).isEqualTo(new CliRun(2, "",
        file + ":7:40: services[0].expect.methods[2]: duplicate method 'Charge' (first listed at 7:24)\n"
            + file + ":8:41: services[0].retries.without-retries[1]: duplicate method 'Refund' (first listed at 8:33)\n"));
  }

  @Test
  void everyErrorIsPrintedOnStderrWithExitCode2() throws IOException {
    Path file = write("policies.yaml", """
        settings:
          lease:
            default-ttl: thirty
          auth:
            insecure: true
        services:
          - service: demo.Greeter
            clustr: demo-greeter
            expect: newest
        """);

    CliRun run = CliRun.of("validate", file.toString());

    assertThat(run).isEqualTo(new CliRun(2, "",
        file + ":3:18: settings.lease.default-ttl: expected a duration such as 30s or 500ms, got 'thirty'\n"
            + file + ":7:5: services[0]: missing required key 'cluster'\n"
            + file + ":8:5: unknown key 'clustr' in services[0] (expected one of: service, cluster, expect,"
            + " when-none-qualify, without-reflection, static-endpoints, max-timeout, circuit-breakers, retries,"
            + " upstream-tls, outlier-detection)\n"));
  }

  @Test
  void aTokenFileThatCannotBeReadHereIsAWarningNotAnError() throws IOException {
    Path missing = dir.resolve("token");
    Path file = write("policies.yaml", "settings:\n  auth:\n    token-file: " + missing + "\n");

    CliRun run = CliRun.of("validate", file.toString());

    assertThat(run).isEqualTo(new CliRun(0, file + ":3:17: warning: settings.auth.token-file: cannot read token file '"
        + missing + "' (it does not exist or is not readable) on this machine; serve refuses the policy where this"
        + " holds\n" + file + ": ok (0 services)\n", ""));
  }

  @Test
  void tokenFileThatExistsIsOk() throws IOException {
    Path token = write("token", "s3cret\n");
    Path file = write("policies.yaml", "settings:\n  auth:\n    token-file: " + token + "\n");

    assertThat(CliRun.of("validate", file.toString()).exit()).isZero();
  }

  @Test
  void referenceChecksCanBeSkippedForCi() throws IOException {
    Path file = write("policies.yaml", "settings:\n  auth:\n    token-file: " + dir.resolve("token") + "\n");

    CliRun run = CliRun.of("validate", "--skip-reference-checks", file.toString());

    assertThat(run).isEqualTo(new CliRun(0, file + ": ok (0 services)\n", ""));
  }

  @Test
  void missingFileIsOneLine() {
    Path missing = dir.resolve("nope.yaml");

    CliRun run = CliRun.of("validate", missing.toString());

    assertThat(run).isEqualTo(new CliRun(2, "",
        "protomatch validate: cannot read policy file '" + missing + "': no such file\n"));
  }

  @Test
  void directoryIsOneLine() {
    CliRun run = CliRun.of("validate", dir.toString());

    assertThat(run).isEqualTo(new CliRun(2, "",
        "protomatch validate: cannot read policy file '" + dir + "': it is a directory\n"));
  }

  @Test
  void fileArgumentIsRequired() {
    CliRun run = CliRun.of("validate");

    assertThat(run.exit()).isEqualTo(2);
    assertThat(run.err()).contains("Missing required parameter: 'FILE'");
  }

  private Path write(String name, String content) throws IOException {
    return Files.writeString(dir.resolve(name), content);
  }
}
