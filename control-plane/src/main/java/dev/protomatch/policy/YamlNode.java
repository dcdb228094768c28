package dev.protomatch.policy;

import java.util.List;
import java.util.Optional;

/**
 * A YAML node with the 1-based line and column where it starts, so that every policy error can point at
 * the text the operator wrote. Built by {@link YamlReader}; only the shapes a policy file can use exist
 * (no anchors, aliases or tags).
 */
sealed interface YamlNode permits YamlNode.Mapping, YamlNode.Sequence, YamlNode.Scalar {
  int line();

  int column();

  /** What the node is, for the "got ..." half of an error message: {@code a list}, {@code 'thirty'}. */
  String describe();

  /** A mapping whose keys are unique (the reader reports duplicates and keeps the first). */
  record Mapping(int line, int column, List<Entry> entries) implements YamlNode {
    public Mapping {
      entries = List.copyOf(entries);
    }

    Optional<YamlNode> get(String key) {
      return entries.stream().filter(e -> e.key().equals(key)).map(Entry::value).findFirst();
    }

    boolean has(String key) {
      return get(key).isPresent();
    }

    @Override
    public String describe() {
      return entries.isEmpty() ? "an empty mapping" : "a mapping";
    }
  }

  /** One {@code key: value} pair; the position is the key's. */
  record Entry(String key, int line, int column, YamlNode value) {}

  record Sequence(int line, int column, List<YamlNode> items) implements YamlNode {
    public Sequence {
      items = List.copyOf(items);
    }

    @Override
    public String describe() {
      return items.isEmpty() ? "an empty list" : "a list";
    }
  }

  /**
   * A scalar as YAML typed it. {@code text} is what was written for strings and floats, the decimal value
   * for integers ({@code 0x10} becomes {@code 16}), {@code true} or {@code false} for booleans (YAML 1.1
   * also reads {@code yes}, {@code on}...), and empty for null.
   */
  record Scalar(int line, int column, Type type, String text) implements YamlNode {
    enum Type { STRING, INTEGER, FLOAT, BOOLEAN, NULL }

    private static final int LONGEST_QUOTE = 80;

    boolean isString() {
      return type == Type.STRING;
    }

    @Override
    public String describe() {
      return switch (type) {
        case STRING -> "'" + quotable(text) + "'";
        case INTEGER, FLOAT -> "the number " + text;
        case BOOLEAN -> "the boolean " + text;
        case NULL -> "an empty value";
      };
    }

    private static String quotable(String text) {
      String oneLine = text.replace("\n", "\\n").replace("\r", "\\r").replace("\t", "\\t");
      return oneLine.length() <= LONGEST_QUOTE ? oneLine : oneLine.substring(0, LONGEST_QUOTE) + "...";
    }
  }
}
