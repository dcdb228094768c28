package dev.protomatch.it;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.TreeMap;

/**
 * What one chaos client saw, call by call, kept as counts: per method, calls by status code and the longest
 * run of consecutive UNAVAILABLE calls of that method; over all calls, the longest such run (an outage);
 * OK replies by the build that answered. The same definitions as integration-tests/node-client/chaos.js,
 * so both clients print the same JSON ({@link ClientReport} reads it). Used by one thread.
 */
final class CallTally {
  private final Map<String, Method> methods = new LinkedHashMap<>();
  private final Map<String, Integer> builds = new TreeMap<>();
  private final UnavailableWindow outage = new UnavailableWindow();
  private int calls;

  private static final class Method {
    final Map<String, Integer> codes = new TreeMap<>();
    final UnavailableWindow window = new UnavailableWindow();
    int calls;
  }

  /** Longest run of consecutive UNAVAILABLE outcomes, from the first one's start to the last one's end. */
  private static final class UnavailableWindow {
    private long firstStart = -1;
    private long longest;

    void record(String code, long startMillis, long endMillis) {
      if (!code.equals("UNAVAILABLE")) {
        firstStart = -1;
        return;
      }
      if (firstStart < 0) {
        firstStart = startMillis;
      }
      longest = Math.max(longest, endMillis - firstStart);
    }
  }

  CallTally(Iterable<String> methodNames) {
    methodNames.forEach(name -> methods.put(name, new Method()));
  }

  /** @param build the build an OK reply named, or null */
  void record(String method, String code, String build, long startMillis, long endMillis) {
    Method counts = methods.computeIfAbsent(method, m -> new Method());
    calls++;
    counts.calls++;
    counts.codes.merge(code, 1, Integer::sum);
    counts.window.record(code, startMillis, endMillis);
    outage.record(code, startMillis, endMillis);
    if (build != null) {
      builds.merge(build, 1, Integer::sum);
    }
  }

  String toJson(String client, long elapsedMillis) {
    ObjectMapper json = new ObjectMapper();
    ObjectNode root = json.createObjectNode().put("client", client).put("calls", calls).put("elapsedMs", elapsedMillis);
    ObjectNode perMethod = root.putObject("methods");
    methods.forEach((name, counts) -> {
      ObjectNode method = perMethod.putObject(name).put("calls", counts.calls);
      ObjectNode codes = method.putObject("codes");
      counts.codes.forEach(codes::put);
      method.put("longestUnavailableMs", counts.window.longest);
    });
    ObjectNode byBuild = root.putObject("builds");
    builds.forEach(byBuild::put);
    root.put("longestOutageMs", outage.longest);
    return root.toString();
  }
}
