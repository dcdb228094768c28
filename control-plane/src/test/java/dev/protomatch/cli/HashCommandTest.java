package dev.protomatch.cli;

import static org.assertj.core.api.Assertions.assertThat;

import dev.protomatch.descriptor.DescriptorHasher;
import dev.protomatch.testing.DescriptorFixtures;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@code protomatch hash}: output format, filters, and one-line errors with exit code 2. */
class HashCommandTest {
  @TempDir
  Path dir;

  @Test
  void printsBothLevelsForEveryService() throws IOException {
    var greeter = new DescriptorHasher().fingerprint(DescriptorFixtures.GREETER_V2.protocSetBytes(), "v2")
        .service("demo.Greeter", "v2");

    CliRun run = CliRun.of("hash", "--descriptor-set", write("v2.pb", DescriptorFixtures.GREETER_V2.protocSetBytes()));

    assertThat(run.exit()).isZero();
    assertThat(run.out()).isEqualTo("demo.Greeter api " + greeter.api() + "\n"
        + "demo.Greeter schema " + greeter.schema() + "\n");
  }

  @Test
  void printsOneLevelOfOneService() throws IOException {
    CliRun run = CliRun.of("hash", "--descriptor-set", write("cat.pb", DescriptorFixtures.CATALOG_LAYOUT_A.protocSetBytes()),
        "--service", "catalog.v1.CatalogService", "--level", "api");

    assertThat(run.exit()).isZero();
    assertThat(run.out()).matches("catalog\\.v1\\.CatalogService api sha256:[0-9a-f]{64}\\n");
  }

  @Test
  void unknownServiceIsAUserError() throws IOException {
    Path set = Path.of(write("v1.pb", DescriptorFixtures.GREETER_V1.protocSetBytes()));

    CliRun run = CliRun.of("hash", "--descriptor-set", set.toString(), "--service", "demo.Nope");

    assertThat(run.exit()).isEqualTo(2);
    assertThat(run.err()).isEqualTo("protomatch hash: " + set
        + ": no service named 'demo.Nope' (the descriptor set defines demo.Greeter)\n");
  }

  @Test
  void missingFileIsAUserError() {
    Path missing = dir.resolve("nope.pb");

    CliRun run = CliRun.of("hash", "--descriptor-set", missing.toString());

    assertThat(run.exit()).isEqualTo(2);
    assertThat(run.err()).isEqualTo("protomatch hash: cannot read descriptor set '" + missing + "': no such file\n");
  }

  @Test
  void directoryIsAUserError() {
    CliRun run = CliRun.of("hash", "--descriptor-set", dir.toString());

    assertThat(run.exit()).isEqualTo(2);
    assertThat(run.err()).isEqualTo("protomatch hash: cannot read descriptor set '" + dir + "': it is a directory\n");
  }

  @Test
  void fileThatIsNotADescriptorSetIsAUserErrorWithoutStackTrace() throws IOException {
    CliRun run = CliRun.of("hash", "--descriptor-set", write("notes.txt", "just some notes\n".getBytes()));

    assertThat(run.exit()).isEqualTo(2);
    assertThat(run.err()).startsWith("protomatch hash: ").contains("not a FileDescriptorSet")
        .doesNotContain("Exception", "\tat ").hasLineCount(1);
  }

  @Test
  void unknownLevelIsAUsageError() throws IOException {
    CliRun run = CliRun.of("hash", "--descriptor-set", write("v1.pb", DescriptorFixtures.GREETER_V1.protocSetBytes()),
        "--level", "full");

    assertThat(run.exit()).isEqualTo(2);
    assertThat(run.err()).contains("Invalid value for option '--level'", "api, schema, both");
  }

  private String write(String name, byte[] bytes) throws IOException {
    return Files.write(dir.resolve(name), bytes).toString();
  }
}
