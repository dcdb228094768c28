package dev.protomatch.it;

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

/**
 * The grpc-js xDS client ({@code @grpc/grpc-js-xds}) as tests drive it: {@code
 * integration-tests/node-client/alternate.js} run as a Node process, alternating SayHello and SayHelloAgain
 * through an {@code xds:///} target, its outcome counted by status code.
 */
final class NodeClient {
  private static final Duration NODE_TIMEOUT = Duration.ofMinutes(3);
  private static final Duration NPM_TIMEOUT = Duration.ofMinutes(5);
  private static final Pattern NODE_OBJECT = Pattern.compile("\"node\"\\s*:\\s*\\{");
  private static final Pattern CALLS_FIELD = Pattern.compile("\"calls\"\\s*:\\s*(\\d+)");
  private static final Pattern CODES_FIELD = Pattern.compile("\"codes\"\\s*:\\s*\\{([^}]*)}");
  private static final Pattern CODE_ENTRY = Pattern.compile("\"([A-Z_]+)\"\\s*:\\s*(\\d+)");

  private final Path root;
  private final Path client;

  private NodeClient(Path root) {
    this.root = root;
    this.client = root.resolve("integration-tests/node-client");
  }

  /** Checks that Node runs and installs the client's lockfile versions if a fresh clone has none. */
  static NodeClient installed() throws Exception {
    NodeClient node = new NodeClient(
        Path.of(System.getProperty("protomatch.root", "..")).toAbsolutePath().normalize());
    node.requireNode();
    node.installIfMissing();
    return node;
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

  /**
   * Runs alternate.js with {@code bootstrap} as GRPC_XDS_BOOTSTRAP: it retries SayHello (uncounted) for
   * up to {@code warmup} until one call is OK, then makes {@code calls} calls and prints their counts.
   *
   * @throws AssertionError if the client failed (for example: no OK call within the warm-up)
   */
  Counts alternate(Path bootstrap, String target, int calls, Duration warmup) throws Exception {
    Path proto = root.resolve("proto/src/demo-v2/proto/demo/greeter.proto");
    Result result = run(List.of("node", "alternate.js", "--target", target, "--calls", Integer.toString(calls),
            "--proto", proto.toString(), "--deadline-ms", "5000", "--warmup-ms", Long.toString(warmup.toMillis())),
        Map.of("GRPC_XDS_BOOTSTRAP", withLocality(bootstrap).toString()), NODE_TIMEOUT);
    if (result.exitCode() != 0) {
      throw new AssertionError("node alternate.js " + result.describe());
    }
    String line = result.stdout().strip().lines().reduce((first, second) -> second).orElse("");
    Matcher callsField = CALLS_FIELD.matcher(line);
    Matcher codes = CODES_FIELD.matcher(line);
    if (!callsField.find() || !codes.find()) {
      throw new AssertionError("node alternate.js printed no counts: " + result.describe());
    }
    Map<String, Integer> byCode = new TreeMap<>();
    Matcher entry = CODE_ENTRY.matcher(codes.group(1));
    while (entry.find()) {
      byCode.put(entry.group(1), Integer.parseInt(entry.group(2)));
    }
    return new Counts(Integer.parseInt(callsField.group(1)), byCode);
  }

  /**
   * grpc-js-xds rejects a bootstrap whose {@code node} has no {@code locality} ("locality field missing in
   * node element", then every call fails UNAVAILABLE), though gRFC A27 makes it optional and grpc-java
   * accepts it; adds an empty one to a bootstrap that has none.
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

  private void requireNode() throws Exception {
    Result version;
    try {
      version = run(List.of("node", "--version"), Map.of(), Duration.ofSeconds(30));
    } catch (IOException e) {
      throw new AssertionError("the grpc-js-xds tests need Node.js (node >= 18) on PATH to run the client in "
          + client + ", and could not start it: " + e.getMessage(), e);
    }
    if (version.exitCode() != 0) {
      throw new AssertionError("node --version " + version.describe());
    }
  }

  /** A fresh clone has no node_modules: install exactly the lockfile's versions (as .ci/run does). */
  private void installIfMissing() throws Exception {
    if (Files.isDirectory(client.resolve("node_modules/@grpc/grpc-js-xds"))) {
      return;
    }
    Result install;
    try {
      install = run(List.of("npm", "ci", "--no-audit", "--no-fund"), Map.of(), NPM_TIMEOUT);
    } catch (IOException e) {
      throw new AssertionError("the grpc-js-xds tests need npm on PATH to install the client in " + client
          + " (or run `npm ci` there first): " + e.getMessage(), e);
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
  private Result run(List<String> command, Map<String, String> environment, Duration timeout)
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
