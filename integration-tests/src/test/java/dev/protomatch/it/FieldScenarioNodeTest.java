package dev.protomatch.it;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The field report with grpc-js and its xDS resolver ({@code @grpc/grpc-js-xds}): the same fleet as
 * {@link FieldScenarioGrpcJavaTest} (an old v1 Greeter beside two v2 Greeters, all real registered
 * processes), and a Node process ({@code integration-tests/node-client/alternate.js}) alternating SayHello
 * and SayHelloAgain through {@code xds:///demo-greeter}, once through protomatch, once through
 * {@link Unfiltered}.
 */
class FieldScenarioNodeTest {
  private static final int CALLS = 1000;
  private static final String TARGET = "xds:///demo-greeter";
  private static final Duration NODE_TIMEOUT = Duration.ofMinutes(3);
  private static final Duration NPM_TIMEOUT = Duration.ofMinutes(5);

  private static Path root;
  private static Path client;
  private static Fleet fleet;

  @BeforeAll
  static void startFleet() throws Exception {
    root = Path.of(System.getProperty("protomatch.root", "..")).toAbsolutePath().normalize();
    client = root.resolve("integration-tests/node-client");
    requireNode();
    installClientIfMissing();

    fleet = Fleet.start();
    fleet.startGreeter("v1", "old-v1");
    fleet.startGreeter("v2", "new-v2-a");
    fleet.startGreeter("v2", "new-v2-b");
    fleet.awaitGreeterDecision(d -> d.included().size() == 2 && d.excluded().size() == 1, Duration.ofSeconds(30));
  }

  @AfterAll
  static void stopFleet() {
    if (fleet != null) {
      fleet.close();
    }
  }

  @Test
  void withProtomatchNoCallIsAnsweredUnimplemented() throws Exception {
    Counts counts = alternate(withLocality(fleet.bootstrapFile("it-grpc-js-filtered")));
    Reports.append("field-scenario", "grpc-js-xds, protomatch: " + counts);

    assertThat(counts.count("UNIMPLEMENTED")).as(counts.toString()).isZero();
    assertThat(counts.count("OK")).as(counts.toString()).isEqualTo(CALLS);
  }

  @Test
  void withoutFilteringTheSameHarnessCountsUnimplemented() throws Exception {
    try (Unfiltered unfiltered = Unfiltered.start()) {
      unfiltered.publish(fleet.controlPlane().updater().updateNow(), fleet.controlPlane().registry().state());
      Path bootstrap = Files.writeString(fleet.workDirectory().resolve("bootstrap-it-grpc-js-unfiltered.json"), """
          {"xds_servers": [{"server_uri": "127.0.0.1:%d", "channel_creds": [{"type": "insecure"}],
            "server_features": ["xds_v3"]}],
           "node": {"id": "it-grpc-js-unfiltered", "cluster": "protomatch-it", "locality": {}}}
          """.formatted(unfiltered.port()));
      Counts counts = alternate(bootstrap);
      Reports.append("field-scenario", "grpc-js-xds, unfiltered: " + counts);

      assertThat(counts.count("UNIMPLEMENTED")).as(counts.toString()).isGreaterThan(0);
    }
  }

  private static final Pattern NODE_OBJECT = Pattern.compile("\"node\"\\s*:\\s*\\{");

  /**
   * grpc-js-xds rejects a bootstrap whose {@code node} has no {@code locality} ("locality field missing in
   * node element", then every call fails UNAVAILABLE), though gRFC A27 makes it optional and grpc-java
   * accepts it; adds an empty one to the fleet's bootstrap when it has none.
   */
  private static Path withLocality(Path bootstrap) throws IOException {
    String json = Files.readString(bootstrap);
    if (json.contains("\"locality\"")) {
      return bootstrap;
    }
    Matcher node = NODE_OBJECT.matcher(json);
    if (!node.find()) {
      throw new AssertionError("no node object in " + bootstrap + ":\n" + json);
    }
    return Files.writeString(bootstrap.resolveSibling(bootstrap.getFileName().toString().replace(".json", "-node.json")),
        json.substring(0, node.end()) + "\"locality\": {}, " + json.substring(node.end()));
  }

  /** Outcome counts of one Node run, by grpc status code name. */
  record Counts(int calls, Map<String, Integer> codes) {
    int count(String code) {
      return codes.getOrDefault(code, 0);
    }

    @Override
    public String toString() {
      return calls + " calls: " + codes;
    }
  }

  private static final Pattern CALLS_FIELD = Pattern.compile("\"calls\"\\s*:\\s*(\\d+)");
  private static final Pattern CODES_FIELD = Pattern.compile("\"codes\"\\s*:\\s*\\{([^}]*)}");
  private static final Pattern CODE_ENTRY = Pattern.compile("\"([A-Z_]+)\"\\s*:\\s*(\\d+)");

  /** Runs alternate.js with {@code bootstrap} as GRPC_XDS_BOOTSTRAP and parses its one line of JSON. */
  private static Counts alternate(Path bootstrap) throws Exception {
    Path proto = root.resolve("proto/src/demo-v2/proto/demo/greeter.proto");
    Result result = run(List.of("node", "alternate.js", "--target", TARGET, "--calls", Integer.toString(CALLS),
        "--proto", proto.toString(), "--deadline-ms", "5000"), Map.of("GRPC_XDS_BOOTSTRAP", bootstrap.toString()),
        NODE_TIMEOUT);
    if (result.exitCode() != 0) {
      throw new AssertionError("node alternate.js " + result.describe());
    }
    String line = result.stdout().strip().lines().reduce((first, second) -> second).orElse("");
    Matcher calls = CALLS_FIELD.matcher(line);
    Matcher codes = CODES_FIELD.matcher(line);
    if (!calls.find() || !codes.find()) {
      throw new AssertionError("node alternate.js printed no counts: " + result.describe());
    }
    Map<String, Integer> byCode = new TreeMap<>();
    Matcher entry = CODE_ENTRY.matcher(codes.group(1));
    while (entry.find()) {
      byCode.put(entry.group(1), Integer.parseInt(entry.group(2)));
    }
    return new Counts(Integer.parseInt(calls.group(1)), byCode);
  }

  private static void requireNode() throws Exception {
    Result version;
    try {
      version = run(List.of("node", "--version"), Map.of(), Duration.ofSeconds(30));
    } catch (IOException e) {
      throw new AssertionError("FieldScenarioNodeTest needs Node.js (node >= 18) on PATH to run the grpc-js-xds "
          + "client in " + client + ", and could not start it: " + e.getMessage(), e);
    }
    if (version.exitCode() != 0) {
      throw new AssertionError("node --version " + version.describe());
    }
  }

  /** A fresh clone has no node_modules: install exactly the lockfile's versions (as .ci/run does). */
  private static void installClientIfMissing() throws Exception {
    if (Files.isDirectory(client.resolve("node_modules/@grpc/grpc-js-xds"))) {
      return;
    }
    Result install;
    try {
      install = run(List.of("npm", "ci", "--no-audit", "--no-fund"), Map.of(), NPM_TIMEOUT);
    } catch (IOException e) {
      throw new AssertionError("FieldScenarioNodeTest needs npm on PATH to install the grpc-js-xds client in "
          + client + " (or run `npm ci` there first): " + e.getMessage(), e);
    }
    if (install.exitCode() != 0) {
      throw new AssertionError("npm ci in " + client + " " + install.describe());
    }
  }

  private record Result(List<String> command, int exitCode, String stdout, String stderr) {
    String describe() {
      return "(" + String.join(" ", command) + ") exited " + exitCode + "\n--- stdout ---\n" + stdout
          + "\n--- stderr ---\n" + stderr;
    }
  }

  /** Runs {@code command} in the client directory; stdout and stderr go to files, so neither pipe can fill. */
  private static Result run(List<String> command, Map<String, String> environment, Duration timeout)
      throws IOException, InterruptedException {
    Path stdout = Files.createTempFile("node-client-", ".out");
    Path stderr = Files.createTempFile("node-client-", ".err");
    try {
      ProcessBuilder builder = new ProcessBuilder(command).directory(client.toFile())
          .redirectOutput(stdout.toFile())
          .redirectError(stderr.toFile());
      builder.environment().putAll(environment);
      Process process = builder.start();
      process.getOutputStream().close();
      int exitCode;
      if (process.waitFor(timeout.toMillis(), TimeUnit.MILLISECONDS)) {
        exitCode = process.exitValue();
      } else {
        process.descendants().forEach(ProcessHandle::destroyForcibly);
        process.destroyForcibly().waitFor(10, TimeUnit.SECONDS);
        exitCode = -1;
        Files.writeString(stderr, "\n[killed after " + timeout + "]", StandardOpenOption.APPEND);
      }
      return new Result(command, exitCode, Files.readString(stdout, StandardCharsets.UTF_8),
          Files.readString(stderr, StandardCharsets.UTF_8));
    } finally {
      Files.deleteIfExists(stdout);
      Files.deleteIfExists(stderr);
    }
  }
}
