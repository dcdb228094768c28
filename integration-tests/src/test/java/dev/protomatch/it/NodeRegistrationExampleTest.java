package dev.protomatch.it;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.protomatch.demo.ProtomatchProcess;
import java.io.IOException;
import java.io.InputStream;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The Node registration example that docs/registration.md shows ({@code integration-tests/node-client/
 * register-example.js}, @grpc/grpc-js only) against a real {@code protomatch serve} process with a bearer token:
 * it registers a real demo.Greeter process (v2, with the descriptor set protoc wrote for it), protomatch
 * probes the Greeter and includes it, and the example's SIGTERM handler deregisters it. With a wrong token the
 * example exits 1 with one line on stderr and nothing is registered. docs/registration.md lists the example as it is.
 */
class NodeRegistrationExampleTest {
  private static final Path ROOT = Path.of(System.getProperty("protomatch.root", "..")).toAbsolutePath().normalize();
  private static final String TOKEN = "it-registration-example-token";
  private static final Pattern STARTED =
      Pattern.compile("registration=127\\.0\\.0\\.1:(\\d+) admin=127\\.0\\.0\\.1:(\\d+)");
  private static final ObjectMapper JSON = new ObjectMapper();
  private static final HttpClient HTTP = HttpClient.newHttpClient();

  @TempDir
  static Path dir;

  private static Path nodeClient;
  private static ProtomatchProcess controlPlane;
  private static ProtomatchProcess greeter;
  private static int registrationPort;
  private static int adminPort;
  private static Path descriptorSet;

  @BeforeAll
  static void start() throws Exception {
    nodeClient = NodeClientDirectory.prepare(ROOT, "NodeRegistrationExampleTest");
    Path tokenFile = Files.writeString(dir.resolve("registration-token"), TOKEN + "\n");
    Path policy = Files.writeString(dir.resolve("policies.yaml"), """
        settings:
          auth:
            token-file: %s
          probe:
            interval: 2s
        services:
          - service: demo.Greeter
            cluster: demo-greeter
            expect:
              methods: [SayHello, SayHelloAgain]
        """.formatted(tokenFile));
    Path log = dir.resolve("serve.log");
    controlPlane = ProtomatchProcess.start(List.of("serve", "--config", policy.toString(), "--xds-port", "0",
        "--registration-port", "0", "--admin-port", "0", "--warmup-seconds", "0"), Map.of(), log);
    Matcher ports = awaitStarted(log);
    registrationPort = Integer.parseInt(ports.group(1));
    adminPort = Integer.parseInt(ports.group(2));
    greeter = ProtomatchProcess.startServer(List.of("greeter", "--build", "v2", "--instance", "node-registered"),
        Map.of(), dir.resolve("greeter.log"), Duration.ofSeconds(60));
    try (InputStream set = NodeRegistrationExampleTest.class.getClassLoader()
        .getResourceAsStream("descriptors/demo-greeter-v2.pb")) {
      assertThat(set).as("descriptors/demo-greeter-v2.pb on the class path (written by protoc in proto/)").isNotNull();
      descriptorSet = dir.resolve("greeter.binpb");
      Files.write(descriptorSet, set.readAllBytes());
    }
  }

  @AfterAll
  static void stop() {
    if (greeter != null) {
      greeter.close();
    }
    if (controlPlane != null) {
      controlPlane.close();
    }
  }

  @Test
  void exampleRegistersTheGreeterWhichIsIncludedAndDeregistersItOnSigterm() throws Exception {
    String address = "127.0.0.1:" + greeter.port();
    Path out = dir.resolve("example.out");
    Path err = dir.resolve("example.err");
    Process example = example(TOKEN, address, out, err);
    try {
      await().atMost(Duration.ofSeconds(30)).until(() -> !example.isAlive() || Files.readString(out).contains("registered "));
      assertThat(example.isAlive()).as("example still running; stderr: %s", Files.readString(err)).isTrue();

      JsonNode registered = await().atMost(Duration.ofSeconds(10)).until(() -> endpoint(address), e -> e != null);
      assertThat(registered.get("source").asText()).isEqualTo("registration");
      assertThat(registered.get("labels").get("lang").asText()).isEqualTo("node");
      assertThat(registered.get("lease").get("ttl_seconds").asInt()).isEqualTo(30);
      await().atMost(Duration.ofSeconds(30)).until(() -> included().contains(address));
      JsonNode probed = await().atMost(Duration.ofSeconds(30)).until(() -> endpoint(address).get("services").get(0),
          service -> service.has("probed_api"));
      assertThat(probed.get("advertised_api").asText()).startsWith("sha256:")
          .isEqualTo(probed.get("probed_api").asText()); // the registered descriptor set is what it serves

      example.destroy(); // SIGTERM
      assertThat(example.waitFor(30, TimeUnit.SECONDS)).isTrue();
      assertThat(example.exitValue()).as("exit code; stderr: %s", Files.readString(err)).isZero();
      assertThat(Files.readString(out)).contains("deregistered " + address);
      assertThat(endpoint(address)).as("endpoint after deregistration").isNull();
      assertThat(included()).doesNotContain(address);
      Reports.append("node-registration-example", "register-example.js registered " + address
          + ", protomatch included it, SIGTERM deregistered it; stdout: " + Files.readString(out).strip()
              .replace('\n', ' '));
    } finally {
      example.destroyForcibly();
    }
  }

  @Test
  void exampleWithAWrongTokenExitsWithOneLineAndRegistersNothing() throws Exception {
    Path out = dir.resolve("wrong-token.out");
    Path err = dir.resolve("wrong-token.err");
    String address = "127.0.0.2:" + greeter.port(); // not the other test's address: this test stands alone
    Process example = example("not-the-token", address, out, err);
    try {
      assertThat(example.waitFor(30, TimeUnit.SECONDS)).as("example exited").isTrue();

      assertThat(example.exitValue()).isEqualTo(1);
      assertThat(Files.readString(err)).isEqualTo("register-example: UNAUTHENTICATED: invalid bearer token\n");
      assertThat(Files.readString(out)).isEmpty();
      assertThat(endpoint(address)).isNull();
    } finally {
      example.destroyForcibly();
    }
  }

  @Test
  void docsShowTheExampleByteForByte() throws Exception {
    String example = Files.readString(ROOT.resolve("integration-tests/node-client/register-example.js"));
    String doc = Files.readString(ROOT.resolve("docs/registration.md"));

    assertThat(doc).as("docs/registration.md lists register-example.js as it is").contains("```js\n" + example + "```\n");
  }

  /** {@code node register-example.js} with the environment docs/registration.md describes. */
  private static Process example(String token, String endpoint, Path out, Path err) throws IOException {
    ProcessBuilder builder = new ProcessBuilder("node", "register-example.js").directory(nodeClient.toFile())
        .redirectOutput(out.toFile()).redirectError(err.toFile());
    builder.environment().putAll(Map.of(
        "PROTOMATCH_REGISTRATION", "127.0.0.1:" + registrationPort,
        "PROTOMATCH_REGISTRATION_TOKEN", token,
        "ENDPOINT", endpoint,
        "SERVICE", "demo.Greeter",
        "DESCRIPTOR_SET", descriptorSet.toString()));
    Process process = builder.start();
    process.getOutputStream().close();
    return process;
  }

  /** The endpoint at {@code address} in /v1/endpoints, or null. */
  private static JsonNode endpoint(String address) throws Exception {
    for (JsonNode endpoint : get("/v1/endpoints").get("endpoints")) {
      if (endpoint.get("address").asText().equals(address)) {
        return endpoint;
      }
    }
    return null;
  }

  /** The addresses /v1/services lists as included for demo.Greeter. */
  private static List<String> included() throws Exception {
    List<String> addresses = new ArrayList<>();
    for (JsonNode service : get("/v1/services").get("services")) {
      if (service.get("service").asText().equals("demo.Greeter") && service.has("included")) {
        service.get("included").forEach(endpoint -> addresses.add(endpoint.get("address").asText()));
      }
    }
    return addresses;
  }

  private static JsonNode get(String path) throws Exception {
    HttpResponse<String> response = HTTP.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + adminPort + path))
        .timeout(Duration.ofSeconds(10)).build(), HttpResponse.BodyHandlers.ofString(StandardCharsets.UTF_8));
    assertThat(response.statusCode()).as("GET %s: %s", path, response.body()).isEqualTo(200);
    return JSON.readTree(response.body());
  }

  /** Waits for serve's "protomatch started: ..." log line and returns the ports it names. */
  private static Matcher awaitStarted(Path log) throws Exception {
    long deadline = System.nanoTime() + Duration.ofSeconds(60).toNanos();
    while (System.nanoTime() < deadline && controlPlane.isAlive()) {
      if (Files.exists(log)) {
        for (String line : Files.readAllLines(log)) {
          Matcher matcher = STARTED.matcher(line);
          if (line.contains("protomatch started:") && matcher.find()) {
            return matcher;
          }
        }
      }
      Thread.sleep(100);
    }
    throw new AssertionError("protomatch serve did not start (" + (controlPlane.isAlive() ? "timed out"
        : "exited " + controlPlane.exitValue()) + "):\n" + Files.readString(log));
  }
}
