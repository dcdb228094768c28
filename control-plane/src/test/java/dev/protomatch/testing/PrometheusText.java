package dev.protomatch.testing;

import java.util.ArrayList;
import java.util.Collections;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.OptionalDouble;
import java.util.Set;
import java.util.TreeMap;
import java.util.regex.Pattern;

/**
 * A strict parser of the Prometheus text exposition format, version 0.0.4, for tests that read
 * {@code /metrics} as a Prometheus server would. No maintained Java parser of this format is published on
 * Maven Central (client_java only writes it), so this one follows the format's specification
 * (prometheus.io, "Exposition formats", text format details) and refuses anything it does not allow:
 *
 * <ul>
 *   <li>lines end with {@code \n}; empty lines are ignored; {@code #} lines are {@code HELP}, {@code TYPE} or
 *       comments;
 *   <li>{@code # HELP name text} (escapes {@code \\} and {@code \n}) and {@code # TYPE name type} appear at
 *       most once per metric, and a {@code TYPE} before its metric's first sample;
 *   <li>a sample is {@code name[{label="value",...}] value [timestamp]}, names and label names match the
 *       specified patterns, label values use only the escapes {@code \\}, {@code \"} and {@code \n}, no label
 *       is repeated, values are floats or {@code NaN}, {@code +Inf}, {@code -Inf}, timestamps integers;
 *   <li>all lines of one metric family form one group, and no series (name and labels) appears twice;
 *   <li>a histogram has {@code _bucket} series with an {@code le} label, cumulative counts, a {@code +Inf}
 *       bucket equal to {@code _count}, and a {@code _sum}, for each label set.
 * </ul>
 */
public final class PrometheusText {
  private static final Pattern METRIC_NAME = Pattern.compile("[a-zA-Z_:][a-zA-Z0-9_:]*");
  private static final Pattern LABEL_NAME = Pattern.compile("[a-zA-Z_][a-zA-Z0-9_]*");
  private static final Pattern FLOAT = Pattern.compile("[-+]?(\\d+\\.?\\d*|\\.\\d+)([eE][-+]?\\d+)?");
  private static final Pattern INTEGER = Pattern.compile("-?\\d+");
  private static final Set<String> TYPES = Set.of("counter", "gauge", "histogram", "summary", "untyped");

  private PrometheusText() {}

  /** One sample line. */
  public record Sample(String name, Map<String, String> labels, double value) {}

  /** One metric family: its {@code TYPE} ({@code untyped} when not given), {@code HELP} and samples. */
  public record Family(String name, String type, Optional<String> help, List<Sample> samples) {}

  /** Text that breaks the format, with the line it is on. */
  public static final class FormatException extends RuntimeException {
    private static final long serialVersionUID = 1L;

    FormatException(int line, String message) {
      super("line " + line + ": " + message);
    }
  }

  /** A parsed scrape. */
  public static final class Scrape {
    private final Map<String, Family> families;

    private Scrape(Map<String, Family> families) {
      this.families = Collections.unmodifiableMap(families);
    }

    public Map<String, Family> families() {
      return families;
    }

    public Optional<Family> family(String name) {
      return Optional.ofNullable(families.get(name));
    }

    /** Every sample named {@code sampleName} (for a histogram: {@code x_bucket}, {@code x_sum}, {@code x_count}). */
    public List<Sample> samples(String sampleName) {
      return families.values().stream().flatMap(f -> f.samples().stream())
          .filter(s -> s.name().equals(sampleName)).toList();
    }

    /** The value of the series with exactly these labels, if there is one. */
    public OptionalDouble value(String sampleName, Map<String, String> labels) {
      return samples(sampleName).stream().filter(s -> s.labels().equals(labels))
          .mapToDouble(Sample::value).findFirst();
    }

    /**
     * The sum over every series named {@code sampleName} whose labels include {@code labels}.
     *
     * @throws AssertionError if the scrape has no sample of that name at all
     */
    public double sum(String sampleName, Map<String, String> labels) {
      List<Sample> named = samples(sampleName);
      if (named.isEmpty()) {
        throw new AssertionError("no sample named " + sampleName + " in the scrape; families: " + families.keySet());
      }
      return named.stream().filter(s -> s.labels().entrySet().containsAll(labels.entrySet()))
          .mapToDouble(Sample::value).sum();
    }
  }

  public static Scrape parse(String text) {
    Map<String, String> types = new LinkedHashMap<>();
    Map<String, String> helps = new LinkedHashMap<>();
    Map<String, List<Sample>> samples = new LinkedHashMap<>();
    Set<String> closed = new HashSet<>();
    Set<String> series = new HashSet<>();
    String current = null;
    String[] lines = text.split("\n", -1);
    if (!text.isEmpty() && !text.endsWith("\n")) {
      throw new FormatException(lines.length, "the last line does not end with a line feed");
    }
    for (int i = 0; i < lines.length; i++) {
      int number = i + 1;
      String line = lines[i];
      if (line.isBlank()) {
        continue;
      }
      String family;
      if (line.startsWith("#")) {
        String[] tokens = line.substring(1).stripLeading().split("[ \t]+", 3);
        if (tokens.length < 2 || !(tokens[0].equals("HELP") || tokens[0].equals("TYPE"))) {
          continue; // a comment
        }
        family = name(tokens[1], number);
        if (tokens[0].equals("HELP")) {
          if (helps.put(family, unescapeHelp(tokens.length > 2 ? tokens[2] : "", number)) != null) {
            throw new FormatException(number, "second HELP for " + family);
          }
        } else {
          String type = tokens.length > 2 ? tokens[2].strip() : "";
          if (!TYPES.contains(type)) {
            throw new FormatException(number, "unknown type '" + type + "' for " + family);
          }
          if (samples.containsKey(family)) {
            throw new FormatException(number, "TYPE for " + family + " after its samples");
          }
          if (types.put(family, type) != null) {
            throw new FormatException(number, "second TYPE for " + family);
          }
        }
      } else {
        Sample sample = sample(line, number);
        family = familyOf(sample.name(), types);
        if (!series.add(sample.name() + sample.labels())) {
          throw new FormatException(number, "series " + sample.name() + sample.labels() + " appears twice");
        }
        samples.computeIfAbsent(family, f -> new ArrayList<>()).add(sample);
      }
      if (!family.equals(current)) {
        if (current != null) {
          closed.add(current);
        }
        if (closed.contains(family)) {
          throw new FormatException(number, "lines of " + family + " are not in one group");
        }
        current = family;
      }
    }
    Map<String, Family> families = new TreeMap<>();
    Set<String> names = new HashSet<>(types.keySet());
    names.addAll(helps.keySet());
    names.addAll(samples.keySet());
    for (String name : names) {
      Family family = new Family(name, types.getOrDefault(name, "untyped"), Optional.ofNullable(helps.get(name)),
          List.copyOf(samples.getOrDefault(name, List.of())));
      if (family.type().equals("histogram")) {
        checkHistogram(family);
      }
      families.put(name, family);
    }
    return new Scrape(families);
  }

  private static String familyOf(String sampleName, Map<String, String> types) {
    for (String suffix : List.of("_bucket", "_sum", "_count")) {
      if (sampleName.endsWith(suffix)) {
        String base = sampleName.substring(0, sampleName.length() - suffix.length());
        String type = types.get(base);
        if ("histogram".equals(type) || ("summary".equals(type) && !suffix.equals("_bucket"))) {
          return base;
        }
      }
    }
    return sampleName;
  }

  private static Sample sample(String line, int number) {
    int at = 0;
    while (at < line.length() && (Character.isLetterOrDigit(line.charAt(at)) || line.charAt(at) == '_'
        || line.charAt(at) == ':')) {
      at++;
    }
    String name = name(line.substring(0, at), number);
    Map<String, String> labels = new LinkedHashMap<>();
    int brace = skipBlanks(line, at);
    if (brace < line.length() && line.charAt(brace) == '{') {
      at = labels(line, brace + 1, labels, number);
    }
    String rest = line.substring(at);
    if (rest.isEmpty() || (rest.charAt(0) != ' ' && rest.charAt(0) != '\t')) {
      throw new FormatException(number, "expected a space and a value after " + name + labels);
    }
    String[] tokens = rest.strip().split("[ \t]+");
    if (tokens.length > 2) {
      throw new FormatException(number, "unexpected text after the value and timestamp: " + rest);
    }
    if (tokens.length == 2 && !INTEGER.matcher(tokens[1]).matches()) {
      throw new FormatException(number, "timestamp is not an integer: " + tokens[1]);
    }
    return new Sample(name, Collections.unmodifiableMap(labels), value(tokens[0], number));
  }

  /** Reads the labels from {@code at} (just after the opening brace); returns the index after the closing one. */
  private static int labels(String line, int at, Map<String, String> labels, int number) {
    while (true) {
      at = skipBlanks(line, at);
      if (at < line.length() && line.charAt(at) == '}') {
        return at + 1;
      }
      int equals = line.indexOf('=', at);
      if (equals < 0) {
        throw new FormatException(number, "label without '=': " + line.substring(at));
      }
      String label = line.substring(at, equals).replaceAll("[ \t]+$", "");
      if (!LABEL_NAME.matcher(label).matches()) {
        throw new FormatException(number, "invalid label name '" + label + "'");
      }
      at = skipBlanks(line, equals + 1);
      if (at >= line.length() || line.charAt(at) != '"') {
        throw new FormatException(number, "label value of " + label + " is not quoted");
      }
      StringBuilder value = new StringBuilder();
      at++;
      while (true) {
        if (at >= line.length()) {
          throw new FormatException(number, "unterminated label value of " + label);
        }
        char c = line.charAt(at++);
        if (c == '"') {
          break;
        }
        if (c == '\\') {
          if (at >= line.length()) {
            throw new FormatException(number, "unterminated escape in label value of " + label);
          }
          char escaped = line.charAt(at++);
          switch (escaped) {
            case '\\' -> value.append('\\');
            case '"' -> value.append('"');
            case 'n' -> value.append('\n');
            default -> throw new FormatException(number, "invalid escape \\" + escaped + " in label value of " + label);
          }
        } else {
          value.append(c);
        }
      }
      if (labels.put(label, value.toString()) != null) {
        throw new FormatException(number, "label " + label + " repeated");
      }
      at = skipBlanks(line, at);
      if (at < line.length() && line.charAt(at) == ',') {
        at++;
      } else if (at >= line.length() || line.charAt(at) != '}') {
        throw new FormatException(number, "expected ',' or '}' after the value of " + label);
      }
    }
  }

  private static int skipBlanks(String line, int at) {
    while (at < line.length() && (line.charAt(at) == ' ' || line.charAt(at) == '\t')) {
      at++;
    }
    return at;
  }

  private static String name(String name, int number) {
    if (!METRIC_NAME.matcher(name).matches()) {
      throw new FormatException(number, "invalid metric name '" + name + "'");
    }
    return name;
  }

  private static double value(String token, int number) {
    return switch (token) {
      case "NaN" -> Double.NaN;
      case "+Inf", "Inf" -> Double.POSITIVE_INFINITY;
      case "-Inf" -> Double.NEGATIVE_INFINITY;
      default -> {
        if (!FLOAT.matcher(token).matches()) {
          throw new FormatException(number, "invalid value '" + token + "'");
        }
        yield Double.parseDouble(token);
      }
    };
  }

  private static String unescapeHelp(String text, int number) {
    StringBuilder out = new StringBuilder();
    for (int i = 0; i < text.length(); i++) {
      char c = text.charAt(i);
      if (c != '\\') {
        out.append(c);
        continue;
      }
      if (++i >= text.length()) {
        throw new FormatException(number, "unterminated escape in HELP");
      }
      switch (text.charAt(i)) {
        case '\\' -> out.append('\\');
        case 'n' -> out.append('\n');
        default -> throw new FormatException(number, "invalid escape \\" + text.charAt(i) + " in HELP");
      }
    }
    return out.toString();
  }

  private static void checkHistogram(Family family) {
    Map<Map<String, String>, List<Sample>> buckets = new LinkedHashMap<>();
    Map<Map<String, String>, Double> counts = new LinkedHashMap<>();
    Set<Map<String, String>> sums = new HashSet<>();
    for (Sample sample : family.samples()) {
      String suffix = sample.name().substring(family.name().length());
      Map<String, String> labels = new TreeMap<>(sample.labels());
      switch (suffix) {
        case "_bucket" -> {
          if (labels.remove("le") == null) {
            throw new AssertionError(family.name() + ": bucket without le label: " + sample);
          }
          buckets.computeIfAbsent(labels, l -> new ArrayList<>()).add(sample);
        }
        case "_count" -> counts.put(labels, sample.value());
        case "_sum" -> sums.add(labels);
        default -> throw new AssertionError(family.name() + ": unexpected sample in a histogram: " + sample);
      }
    }
    if (!buckets.keySet().equals(counts.keySet()) || !counts.keySet().equals(sums)) {
      throw new AssertionError(family.name() + ": every label set needs buckets, _count and _sum");
    }
    buckets.forEach((labels, series) -> {
      double previousBound = Double.NEGATIVE_INFINITY;
      double previousCount = 0;
      for (Sample bucket : series) {
        double bound = value(bucket.labels().get("le"), 0);
        if (bound <= previousBound || bucket.value() < previousCount) {
          throw new AssertionError(family.name() + ": buckets are not increasing and cumulative at " + bucket);
        }
        previousBound = bound;
        previousCount = bucket.value();
      }
      if (previousBound != Double.POSITIVE_INFINITY || previousCount != counts.get(labels)) {
        throw new AssertionError(family.name() + labels + ": the +Inf bucket must be last and equal _count");
      }
    });
  }
}
