package dev.protomatch.it;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.TreeMap;

/**
 * The counts a chaos client printed as its last line (see {@link CallTally} and node-client/chaos.js).
 * "Other" is every outcome that is neither OK, UNIMPLEMENTED nor UNAVAILABLE (INVALID_ARGUMENT from a build
 * that expects another request type, DEADLINE_EXCEEDED, ...).
 */
record ClientReport(String client, int calls, long elapsedMs, Map<String, MethodCounts> methods,
                    Map<String, Integer> builds, long longestOutageMs) {

  record MethodCounts(int calls, Map<String, Integer> codes, long longestUnavailableMs) {
    int count(String code) {
      return codes.getOrDefault(code, 0);
    }

    int other() {
      return calls - count("OK") - count("UNIMPLEMENTED") - count("UNAVAILABLE");
    }

    @Override
    public String toString() {
      return "OK " + count("OK") + " / UNIMPLEMENTED " + count("UNIMPLEMENTED") + " / UNAVAILABLE "
          + count("UNAVAILABLE") + " / other " + other() + otherCodes() + ", longest UNAVAILABLE window "
          + longestUnavailableMs + " ms";
    }

    private String otherCodes() {
      Map<String, Integer> other = new TreeMap<>(codes);
      other.keySet().removeAll(java.util.Set.of("OK", "UNIMPLEMENTED", "UNAVAILABLE"));
      return other.isEmpty() ? "" : " " + other;
    }
  }

  /** All calls of every method answered with {@code code}. */
  int total(String code) {
    return methods.values().stream().mapToInt(m -> m.count(code)).sum();
  }

  static ClientReport parse(String line) {
    JsonNode root;
    try {
      root = new ObjectMapper().readTree(line);
    } catch (JsonProcessingException e) {
      throw new AssertionError("not a chaos client report: " + line, e);
    }
    if (root == null || !root.has("calls") || !root.has("methods")) {
      throw new AssertionError("not a chaos client report: " + line);
    }
    Map<String, MethodCounts> methods = new LinkedHashMap<>();
    root.get("methods").fields().forEachRemaining(method -> {
      Map<String, Integer> codes = new TreeMap<>();
      method.getValue().get("codes").fields().forEachRemaining(code -> codes.put(code.getKey(), code.getValue().asInt()));
      methods.put(method.getKey(), new MethodCounts(method.getValue().get("calls").asInt(), codes,
          method.getValue().get("longestUnavailableMs").asLong()));
    });
    Map<String, Integer> builds = new TreeMap<>();
    root.get("builds").fields().forEachRemaining(build -> builds.put(build.getKey(), build.getValue().asInt()));
    return new ClientReport(root.get("client").asText(), root.get("calls").asInt(), root.get("elapsedMs").asLong(),
        methods, builds, root.get("longestOutageMs").asLong());
  }
}
