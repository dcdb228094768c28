package dev.protomatch.it;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Iterator;

import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;

/**
 * Keeps docs/admin-api.md honest: every field named in its examples must be a field the live API returns
 * for that endpoint, and every field the API returns must be documented.
 */
class AdminApiExamplesTest {
  private static final Path DOC = Path.of(System.getProperty("protomatch.root", "..")).resolve("docs/admin-api.md");
  private static final Pattern EXAMPLE = Pattern.compile("```json path=(\\S+)\\n(.*?)```", Pattern.DOTALL);
  private static final ObjectMapper JSON = new ObjectMapper();

  @Test
  void documentedExamplesHaveExactlyTheFieldsTheLiveApiReturns() throws Exception {
    Map<String, String> examples = new java.util.TreeMap<>();
    Matcher matcher = EXAMPLE.matcher(Files.readString(DOC));
    while (matcher.find()) {
      examples.put(matcher.group(1), matcher.group(2));
    }
    assertThat(examples).containsKeys("/v1/services", "/v1/endpoints", "/v1/clients", "/v1/policies");

    try (Fleet fleet = Fleet.start()) {
      fleet.startGreeter("v1", "old-v1");
      fleet.startGreeter("v2", "new-v2");
      fleet.awaitGreeterDecision(d -> d.included().size() == 1 && d.excluded().size() == 1, java.time.Duration.ofSeconds(30));
      var channel = dev.protomatch.testing.XdsClients.channel(fleet.xdsPort(), "demo-greeter", "docs-example-client");
      try {
        org.awaitility.Awaitility.await().atMost(java.time.Duration.ofSeconds(30)).until(() ->
            dev.protomatch.demo.AlternatingCaller.run(channel, 2, 2_000).count(io.grpc.Status.Code.OK) == 2);
        for (Map.Entry<String, String> example : examples.entrySet()) {
          HttpResponse<String> live = HttpClient.newHttpClient().send(HttpRequest.newBuilder(
              URI.create("http://127.0.0.1:" + fleet.controlPlane().adminPort() + example.getKey())).build(),
              HttpResponse.BodyHandlers.ofString());
          assertThat(paths(JSON.readTree(example.getValue()), "")).as("fields of %s (documented vs live)", example.getKey())
              .isEqualTo(paths(JSON.readTree(live.body()), ""));
        }
      } finally {
        channel.shutdownNow();
      }
    }
  }

  /** Field paths of a JSON document; array elements and map-like objects (addresses, types) generalised. */
  private static java.util.SortedSet<String> paths(JsonNode node, String prefix) {
    java.util.SortedSet<String> paths = new java.util.TreeSet<>();
    if (node.isArray()) {
      for (JsonNode element : node) {
        paths.addAll(paths(element, prefix + "[]"));
      }
    } else if (node.isObject()) {
      boolean keyed = prefix.endsWith(".methods") || prefix.endsWith(".labels") || prefix.endsWith(".resources");
      for (Iterator<String> names = node.fieldNames(); names.hasNext(); ) {
        String name = names.next();
        String path = prefix + "." + (keyed ? "*" : name);
        paths.add(path);
        paths.addAll(paths(node.get(name), path));
      }
    }
    return paths;
  }

}
