package dev.protomatch.policy;

import com.fasterxml.jackson.core.JsonLocation;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.JsonToken;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;
import com.fasterxml.jackson.dataformat.yaml.YAMLParser;
import dev.protomatch.policy.YamlNode.Entry;
import dev.protomatch.policy.YamlNode.Mapping;
import dev.protomatch.policy.YamlNode.Scalar;
import dev.protomatch.policy.YamlNode.Sequence;
import java.io.IOException;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.yaml.snakeyaml.error.Mark;
import org.yaml.snakeyaml.error.MarkedYAMLException;
import org.yaml.snakeyaml.error.YAMLException;

/**
 * Turns YAML text into a {@link YamlNode} tree that remembers where each node was written. Jackson's
 * streaming YAML parser does the YAML; this class only keeps its token locations, which a data-binding
 * parse would throw away.
 *
 * <p>Reported to the {@link PolicyErrors} given: duplicate keys in one mapping (the first value is kept and
 * reading goes on), and fatal problems after which there is no tree: YAML syntax errors (with the
 * position and wording of the YAML parser, minus its Java noise), aliases ({@code *name}, which Jackson
 * would silently read as the string {@code name}) and a second document in the file.
 */
final class YamlReader {
  /** Empty plain scalars ({@code lease:} with nothing after it) are YAML nulls, as the YAML spec says. */
  private static final YAMLFactory YAML =
      YAMLFactory.builder().enable(YAMLParser.Feature.EMPTY_STRING_AS_NULL).build();

  private final PolicyErrors errors;

  YamlReader(PolicyErrors errors) {
    this.errors = errors;
  }

  /**
   * The document's root, or empty when the document is empty (no content, only comments, or a null) or
   * could not be read (the reason is in the errors).
   */
  Optional<YamlNode> read(String text) {
    try (YAMLParser parser = YAML.createParser(text)) {
      if (parser.nextToken() == null) {
        return Optional.empty();
      }
      YamlNode root = readNode(parser, YamlPath.ROOT);
      if (parser.nextToken() != null) {
        JsonLocation second = parser.currentTokenLocation();
        throw new Unreadable(second.getLineNr(), second.getColumnNr(),
            "a policy file holds one YAML document, found a second one");
      }
      return root instanceof Scalar scalar && scalar.type() == Scalar.Type.NULL ? Optional.empty() : Optional.of(root);
    } catch (Unreadable e) {
      errors.add(e.line, e.column, e.getMessage());
    } catch (JsonProcessingException e) {
      reportSyntaxError(e, e.getCause());
    } catch (YAMLException e) {
      reportSyntaxError(null, e);
    } catch (IOException e) {
      // Reading from a String does no I/O; only the parser's own exceptions above can happen.
      throw new IllegalStateException("unexpected I/O error reading YAML from memory", e);
    }
    return Optional.empty();
  }

  private YamlNode readNode(YAMLParser parser, YamlPath path) throws IOException {
    JsonLocation at = parser.currentTokenLocation();
    int line = at.getLineNr();
    int column = at.getColumnNr();
    JsonToken token = parser.currentToken();
    switch (token) {
      case START_OBJECT:
        return readMapping(parser, path, line, column);
      case START_ARRAY:
        List<YamlNode> items = new ArrayList<>();
        while (parser.nextToken() != JsonToken.END_ARRAY) {
          items.add(readNode(parser, path.index(items.size())));
        }
        return new Sequence(line, column, items);
      case VALUE_STRING:
        if (parser.isCurrentAlias()) {
          throw new Unreadable(line, column, (path.isRoot() ? "" : path + ": ")
              + "YAML aliases (*" + parser.getText() + ") are not supported; write the value out");
        }
        return new Scalar(line, column, Scalar.Type.STRING, parser.getText());
      case VALUE_NUMBER_INT:
        return new Scalar(line, column, Scalar.Type.INTEGER, parser.getBigIntegerValue().toString());
      case VALUE_NUMBER_FLOAT:
        return new Scalar(line, column, Scalar.Type.FLOAT, parser.getText());
      case VALUE_TRUE:
        return new Scalar(line, column, Scalar.Type.BOOLEAN, "true");
      case VALUE_FALSE:
        return new Scalar(line, column, Scalar.Type.BOOLEAN, "false");
      case VALUE_NULL:
        return new Scalar(line, column, Scalar.Type.NULL, "");
      default:
        // VALUE_EMBEDDED_OBJECT (!!binary): no policy value is binary; keep the text for the error message.
        return new Scalar(line, column, Scalar.Type.STRING, String.valueOf(parser.getText()));
    }
  }

  private Mapping readMapping(YAMLParser parser, YamlPath path, int line, int column) throws IOException {
    List<Entry> entries = new ArrayList<>();
    Map<String, Entry> byKey = new HashMap<>();
    while (parser.nextToken() == JsonToken.FIELD_NAME) {
      String key = parser.currentName();
      JsonLocation keyAt = parser.currentTokenLocation();
      parser.nextToken();
      Entry entry = new Entry(key, keyAt.getLineNr(), keyAt.getColumnNr(), readNode(parser, path.key(key)));
      Entry first = byKey.putIfAbsent(key, entry);
      if (first == null) {
        entries.add(entry);
      } else {
        errors.add(entry.line(), entry.column(), "duplicate key '" + key + "' " + path.within()
            + " (first at " + first.line() + ":" + first.column() + ")");
      }
    }
    return new Mapping(line, column, entries);
  }

  /** Reports what the YAML parser found, at its position, as one line without class names. */
  private void reportSyntaxError(JsonProcessingException jackson, Throwable cause) {
    if (cause instanceof MarkedYAMLException marked && marked.getProblemMark() != null) {
      Mark problemAt = marked.getProblemMark();
      StringBuilder message = new StringBuilder("YAML syntax error: ").append(cleanProblem(marked.getProblem()));
      if (marked.getContext() != null && marked.getContextMark() != null) {
        Mark contextAt = marked.getContextMark();
        message.append(" (").append(oneLine(marked.getContext()))
            .append(" at ").append(contextAt.getLine() + 1).append(':').append(contextAt.getColumn() + 1).append(')');
      }
      errors.add(problemAt.getLine() + 1, problemAt.getColumn() + 1, message.toString());
    } else if (jackson != null) {
      JsonLocation at = jackson.getLocation();
      int line = at == null || at.getLineNr() < 1 ? 1 : at.getLineNr();
      int column = at == null || at.getColumnNr() < 1 ? 1 : at.getColumnNr();
      errors.add(line, column, "YAML syntax error: " + firstLine(jackson.getOriginalMessage()));
    } else {
      errors.add(1, 1, "YAML syntax error: " + firstLine(cause.getMessage()));
    }
  }

  /** SnakeYAML's scanner advice about indentation is only right for tabs; say that plainly. */
  private static String cleanProblem(String problem) {
    if (problem == null) {
      return "malformed YAML";
    }
    if (problem.contains("\\t(TAB)")) {
      return "found a tab character; YAML allows only spaces for indentation and around ':'";
    }
    return oneLine(problem.replaceAll("\\s*\\(Do not use .* for indentation\\)", ""));
  }

  private static String oneLine(String text) {
    return text.replaceAll("\\s*\\R\\s*", " ").trim();
  }

  private static String firstLine(String text) {
    if (text == null || text.isBlank()) {
      return "malformed YAML";
    }
    return text.strip().lines().findFirst().orElse("malformed YAML");
  }

  /** A problem that leaves no usable tree; carries its position to {@link #read}. */
  private static final class Unreadable extends RuntimeException {
    private static final long serialVersionUID = 1L;
    final int line;
    final int column;

    Unreadable(int line, int column, String message) {
      super(message, null, false, false);
      this.line = line;
      this.column = column;
    }
  }
}
