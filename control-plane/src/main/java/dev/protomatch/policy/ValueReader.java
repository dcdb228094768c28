package dev.protomatch.policy;

import dev.protomatch.policy.YamlNode.Mapping;
import dev.protomatch.policy.YamlNode.Scalar;
import dev.protomatch.policy.YamlNode.Sequence;
import java.math.BigInteger;
import java.time.Duration;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.Optional;
import java.util.function.Predicate;
import java.util.stream.Collectors;

/**
 * Reads typed values out of {@link YamlNode}s. A value of the wrong shape is reported as
 * {@code <path>: expected <what>, got <what was found>} at the node's position and comes back empty, so
 * the caller can carry on and find the file's other errors.
 */
final class ValueReader {
  private static final BigInteger MAX_INT = BigInteger.valueOf(Integer.MAX_VALUE);

  /** Reads one field's node; empty after reporting why it is unusable. */
  @FunctionalInterface
  interface Field<T> {
    Optional<T> read(YamlNode node, YamlPath path);
  }

  private final PolicyErrors errors;

  ValueReader(PolicyErrors errors) {
    this.errors = errors;
  }

  /** Reports {@code <path>: <message>} at {@code at}. */
  void report(YamlNode at, YamlPath path, String message) {
    errors.add(at, (path.isRoot() ? "top level" : path.toString()) + ": " + message);
  }

  /** Reports {@code <path>: expected <expected>, got <node>}. */
  void reportExpected(YamlNode node, YamlPath path, String expected) {
    report(node, path, "expected " + expected + ", got " + node.describe());
  }

  int errorCount() {
    return errors.count();
  }

  /** The node as a mapping whose keys are all in {@code acceptedKeys}; unknown keys are reported. */
  Optional<Mapping> mapping(YamlNode node, YamlPath path, List<String> acceptedKeys) {
    if (!(node instanceof Mapping mapping)) {
      reportExpected(node, path, "a mapping");
      return Optional.empty();
    }
    for (YamlNode.Entry entry : mapping.entries()) {
      if (!acceptedKeys.contains(entry.key())) {
        errors.add(entry.line(), entry.column(), "unknown key '" + entry.key() + "' " + path.within()
            + " (expected one of: " + String.join(", ", acceptedKeys) + ")");
      }
    }
    return Optional.of(mapping);
  }

  /**
   * An optional section of {@code parent}: empty without an error when it is absent or left empty
   * ({@code lease:} with nothing under it), so its defaults apply.
   */
  Optional<Mapping> section(Mapping parent, YamlPath parentPath, String key, List<String> acceptedKeys) {
    return parent.get(key)
        .filter(node -> !isNull(node))
        .flatMap(node -> mapping(node, parentPath.key(key), acceptedKeys));
  }

  /** An optional list of {@code parent}: empty list when absent or left empty. */
  Optional<Sequence> optionalList(Mapping parent, YamlPath parentPath, String key) {
    Optional<YamlNode> node = parent.get(key);
    if (node.isEmpty() || isNull(node.get())) {
      return Optional.of(new Sequence(parent.line(), parent.column(), List.of()));
    }
    return list(node.get(), parentPath.key(key));
  }

  Optional<Sequence> list(YamlNode node, YamlPath path) {
    if (node instanceof Sequence sequence) {
      return Optional.of(sequence);
    }
    reportExpected(node, path, "a list");
    return Optional.empty();
  }

  /** Reports each of {@code keys} missing from {@code mapping}, at the mapping; true when none is. */
  boolean requireKeys(Mapping mapping, YamlPath path, List<String> keys) {
    boolean all = true;
    for (String key : keys) {
      if (!mapping.has(key)) {
        report(mapping, path, "missing required key '" + key + "'");
        all = false;
      }
    }
    return all;
  }

  /** The value of an optional field: {@code fallback} when absent or unusable (the latter is reported). */
  <T> T optional(Mapping mapping, YamlPath path, String key, Field<T> field, T fallback) {
    return mapping.get(key).flatMap(node -> field.read(node, path.key(key))).orElse(fallback);
  }

  /**
   * A string that {@code valid} accepts, else reports {@code expected}. When YAML read an unquoted
   * value as a number or boolean whose text would have been valid ({@code cluster: 123}), the error says
   * to quote it.
   */
  Optional<String> text(YamlNode node, YamlPath path, String expected, Predicate<String> valid) {
    if (node instanceof Scalar s && s.isString() && valid.test(s.text())) {
      return Optional.of(s.text());
    }
    boolean quotingFixesIt = node instanceof Scalar s
        && (s.type() == Scalar.Type.INTEGER || s.type() == Scalar.Type.FLOAT || s.type() == Scalar.Type.BOOLEAN)
        && valid.test(s.text());
    report(node, path, "expected " + expected + ", got " + node.describe()
        + (quotingFixesIt ? " (quote it if it is meant as text)" : ""));
    return Optional.empty();
  }

  /** A non-empty string. */
  Optional<String> string(YamlNode node, YamlPath path) {
    return text(node, path, "a non-empty string", text -> !text.isEmpty());
  }

  Optional<Duration> duration(YamlNode node, YamlPath path) {
    return text(node, path, "a duration such as 30s or 500ms", text -> DurationText.parse(text).isPresent())
        .flatMap(DurationText::parse);
  }

  /** An integer in 1..{@link Integer#MAX_VALUE}. */
  Optional<Integer> positiveInt(YamlNode node, YamlPath path) {
    if (node instanceof Scalar s && s.type() == Scalar.Type.INTEGER) {
      BigInteger value = new BigInteger(s.text());
      if (value.signum() > 0 && value.compareTo(MAX_INT) <= 0) {
        return Optional.of(value.intValueExact());
      }
      if (value.signum() > 0) {
        reportExpected(node, path, "a positive integer no larger than " + Integer.MAX_VALUE);
        return Optional.empty();
      }
    }
    reportExpected(node, path, "a positive integer");
    return Optional.empty();
  }

  Optional<Boolean> bool(YamlNode node, YamlPath path) {
    if (node instanceof Scalar s && s.type() == Scalar.Type.BOOLEAN) {
      return Optional.of(Boolean.parseBoolean(s.text()));
    }
    reportExpected(node, path, "true or false");
    return Optional.empty();
  }

  /**
   * One of an enum's constants, written in lower case with hyphens ({@code FAIL_OPEN} is
   * {@code fail-open}); an unknown value is reported with the accepted ones.
   */
  <E extends Enum<E>> Optional<E> choice(YamlNode node, YamlPath path, E[] values) {
    String accepted = Arrays.stream(values).map(ValueReader::id).collect(Collectors.joining(", "));
    if (!(node instanceof Scalar s && s.isString())) {
      reportExpected(node, path, "one of: " + accepted);
      return Optional.empty();
    }
    for (E value : values) {
      if (id(value).equals(s.text())) {
        return Optional.of(value);
      }
    }
    report(node, path, "unknown value " + s.describe() + " (expected one of: " + accepted + ")");
    return Optional.empty();
  }

  /**
   * Reports unless exactly one of {@code alternatives} was given: {@code expected exactly one of a, b or c,
   * got none} / {@code got a and c}.
   */
  boolean requireExactlyOne(YamlNode at, YamlPath path, List<String> alternatives, List<String> given) {
    if (given.size() == 1) {
      return true;
    }
    report(at, path, "expected exactly one of " + listing(alternatives, "or") + ", got "
        + (given.isEmpty() ? "none" : listing(given, "and")));
    return false;
  }

  /** {@code a}, {@code a or b}, {@code a, b or c}. */
  static String listing(List<String> items, String conjunction) {
    if (items.size() <= 1) {
      return String.join("", items);
    }
    return String.join(", ", items.subList(0, items.size() - 1)) + " " + conjunction + " " + items.get(items.size() - 1);
  }

  static String id(Enum<?> value) {
    return value.name().toLowerCase(Locale.ROOT).replace('_', '-');
  }

  static boolean isNull(YamlNode node) {
    return node instanceof Scalar s && s.type() == Scalar.Type.NULL;
  }
}
