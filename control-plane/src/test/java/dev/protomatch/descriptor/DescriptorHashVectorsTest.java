package dev.protomatch.descriptor;

import static org.assertj.core.api.Assertions.assertThat;

import com.google.protobuf.DescriptorProtos.FileDescriptorSet;
import com.google.protobuf.TextFormat;
import dev.protomatch.cli.Main;
import dev.protomatch.testing.DescriptorFixtures;
import java.io.IOException;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

/**
 * Checks every test vector in {@code docs/descriptor-hash.md} against the implementation, so the
 * specification and the code cannot drift: the canonical texts must match byte for byte and
 * {@code protomatch hash} must print the documented lines.
 */
class DescriptorHashVectorsTest {
  private static final Path DOC = Path.of("..", "docs", "descriptor-hash.md");
  private static final Pattern BLOCK =
      Pattern.compile("```\\w+ vector=(\\S+) (input|hashes|canonical=(api|schema))\\n(.*?)```", Pattern.DOTALL);

  record Vector(String name, Map<String, String> blocks) {}

  @TempDir
  Path tempDir;

  @Test
  void documentedHashesAreWhatTheCliPrints() throws IOException {
    List<Vector> vectors = vectors();
    assertThat(vectors).extracting(Vector::name).contains("greeter-v1", "greeter-v2", "orders");
    for (Vector vector : vectors) {
      assertThat(vector.blocks()).as(vector.name()).containsKeys("input", "hashes");
      Path set = tempDir.resolve(vector.name() + ".pb");
      Files.write(set, input(vector).toByteArray());

      assertThat(runHash(set)).as("hashes of vector %s", vector.name()).isEqualTo(vector.blocks().get("hashes"));
    }
  }

  @Test
  void documentedCanonicalTextsAreWhatTheImplementationBuilds() throws IOException {
    int checked = 0;
    for (Vector vector : vectors()) {
      FileDescriptorSet set = input(vector);
      for (HashLevel level : HashLevel.values()) {
        String documented = vector.blocks().get("canonical=" + level.id());
        if (documented == null) {
          continue;
        }
        String service = documented.lines().skip(1).findFirst().orElseThrow().substring("service ".length());
        String built = CanonicalForm.of(DescriptorSetResolver.services(set, vector.name()).get(service), level);

        assertThat(built).as("canonical %s text of vector %s", level.id(), vector.name()).isEqualTo(documented);
        checked++;
      }
    }
    assertThat(checked).isGreaterThanOrEqualTo(4);
  }

  @Test
  void greeterVectorsDescribeTheDemoServices() throws IOException {
    DescriptorHasher hasher = new DescriptorHasher();
    for (var fixture : List.of(DescriptorFixtures.GREETER_V1, DescriptorFixtures.GREETER_V2)) {
      String vectorName = fixture == DescriptorFixtures.GREETER_V1 ? "greeter-v1" : "greeter-v2";
      Vector vector = vectors().stream().filter(v -> v.name().equals(vectorName)).findFirst().orElseThrow();

      assertThat(hasher.fingerprint(input(vector), vectorName).service("demo.Greeter", vectorName))
          .isEqualTo(hasher.fingerprint(fixture.protocSet(), fixture.name()).service("demo.Greeter", fixture.name()));
    }
  }

  private String runHash(Path set) {
    StringWriter out = new StringWriter();
    CommandLine cli = Main.commandLine();
    cli.setOut(new PrintWriter(out));
    int exit = cli.execute("hash", "--descriptor-set", set.toString());
    assertThat(exit).isZero();
    return out.toString();
  }

  private static FileDescriptorSet input(Vector vector) throws TextFormat.ParseException {
    FileDescriptorSet.Builder set = FileDescriptorSet.newBuilder();
    TextFormat.merge(vector.blocks().get("input"), set);
    return set.build();
  }

  private static List<Vector> vectors() throws IOException {
    Map<String, Map<String, String>> byName = new TreeMap<>();
    Matcher matcher = BLOCK.matcher(Files.readString(DOC));
    while (matcher.find()) {
      byName.computeIfAbsent(matcher.group(1), name -> new TreeMap<>()).put(matcher.group(2), matcher.group(4));
    }
    List<Vector> vectors = new ArrayList<>();
    byName.forEach((name, blocks) -> vectors.add(new Vector(name, blocks)));
    return vectors;
  }
}
