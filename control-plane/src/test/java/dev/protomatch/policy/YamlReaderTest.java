package dev.protomatch.policy;

import static org.assertj.core.api.Assertions.assertThat;

import dev.protomatch.policy.YamlNode.Entry;
import dev.protomatch.policy.YamlNode.Mapping;
import dev.protomatch.policy.YamlNode.Scalar;
import dev.protomatch.policy.YamlNode.Sequence;
import java.util.List;
import java.util.Optional;
import org.junit.jupiter.api.Test;

/** The located tree: each node knows the 1-based line and column where it starts. */
class YamlReaderTest {
  private final PolicyErrors errors = new PolicyErrors("test.yaml");

  @Test
  void nodesCarryTheLineAndColumnWhereTheyStart() {
    Optional<YamlNode> root = new YamlReader(errors).read("""
        top:
          - plain
          - {key: 7}
        """);

    assertThat(errors.count()).isZero();
    assertThat(root).contains(new Mapping(1, 1, List.of(
        new Entry("top", 1, 1, new Sequence(2, 3, List.of(
            new Scalar(2, 5, Scalar.Type.STRING, "plain"),
            new Mapping(3, 5, List.of(new Entry("key", 3, 6, new Scalar(3, 11, Scalar.Type.INTEGER, "7"))))))))));
  }

  @Test
  void scalarsKeepTheTypeYamlGaveThem() {
    Mapping root = (Mapping) new YamlReader(errors).read("""
        hex: 0x10
        yes-word: yes
        tilde: ~
        empty:
        float: 1.5
        quoted: '12'
        """).orElseThrow();

    assertThat(root.entries()).extracting(Entry::value).containsExactly(
        new Scalar(1, 6, Scalar.Type.INTEGER, "16"),
        new Scalar(2, 11, Scalar.Type.BOOLEAN, "true"),
        new Scalar(3, 8, Scalar.Type.NULL, ""),
        new Scalar(4, 7, Scalar.Type.NULL, ""),
        new Scalar(5, 8, Scalar.Type.FLOAT, "1.5"),
        new Scalar(6, 9, Scalar.Type.STRING, "12"));
  }

  @Test
  void duplicateKeyKeepsTheFirstValue() {
    Mapping root = (Mapping) new YamlReader(errors).read("a: 1\na: 2\n").orElseThrow();

    assertThat(root.get("a")).contains(new Scalar(1, 4, Scalar.Type.INTEGER, "1"));
    assertThat(errors.count()).isOne();
  }

  @Test
  void emptyTextHasNoRoot() {
    assertThat(new YamlReader(errors).read("")).isEmpty();
    assertThat(errors.count()).isZero();
  }
}
