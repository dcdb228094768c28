package dev.protomatch.it;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@code bin/protomatch} as an operator runs it: a real process, its exit codes, its output. */
class CliProcessTest {
  private static final Path ROOT = Path.of(System.getProperty("protomatch.root", "..")).toAbsolutePath().normalize();

  @TempDir
  Path dir;

  record Run(int exit, String out, String err) {}

  @Test
  void serveStartsWithTheExamplePolicyAnswersReadinessAndStopsCleanlyOnSigterm() throws Exception {
    Path err = dir.resolve("serve.err");
    ProcessBuilder builder = new ProcessBuilder(ROOT.resolve("bin/protomatch").toString(), "serve",
        "--config", ROOT.resolve("envoy-config/policies.yaml").toString(),
        "--xds-port", "0", "--registration-port", "0", "--admin-port", "0", "--warmup-seconds", "0")
        .redirectError(err.toFile()).redirectOutput(dir.resolve("serve.out").toFile());
    builder.environment().put("PROTOMATCH_REGISTRATION_TOKEN", "it-token"); // the example policy's token-env
    Process serve = builder.start();
    serve.getOutputStream().close();
    try {
      String started = awaitLine(serve, err, "protomatch started:", Duration.ofSeconds(60));
      assertThat(started).contains("policy='" + ROOT.resolve("envoy-config/policies.yaml"))
          .containsPattern("xds=127\\.0\\.0\\.1:\\d+ registration=127\\.0\\.0\\.1:\\d+ admin=127\\.0\\.0\\.1:\\d+");
      int admin = Integer.parseInt(started.replaceAll(".*admin=127\\.0\\.0\\.1:(\\d+).*", "$1"));
      HttpResponse<String> ready = HttpClient.newHttpClient().send(
          HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + admin + "/readyz")).build(),
          HttpResponse.BodyHandlers.ofString());
      assertThat(ready.statusCode()).isEqualTo(200);

      serve.destroy(); // SIGTERM
      assertThat(serve.waitFor(30, TimeUnit.SECONDS)).isTrue();
      assertThat(Files.readString(err)).contains("protomatch stopped");
    } finally {
      serve.destroyForcibly();
    }
  }

  @Test
  void serveRefusesAnInvalidPolicyNamingEveryError() throws Exception {
    Path policy = Files.writeString(dir.resolve("bad.yaml"), "services:\n  - service: demo.Greeter\n    clustr: x\n");

    Run run = run("serve", "--config", policy.toString(), "--xds-port", "0", "--registration-port", "0",
        "--admin-port", "0");

    assertThat(run.exit()).isEqualTo(2);
    assertThat(run.err()).contains(policy + ":3:5: unknown key 'clustr' in services[0]")
        .contains(policy + ":2:5: services[0]: missing required key 'cluster'")
        .doesNotContain("Exception", "\tat ");
  }

  @Test
  void hashOfAFileThatIsNotADescriptorSetIsOneLineAndExitCode2() throws Exception {
    Path notes = Files.writeString(dir.resolve("notes.txt"), "not a descriptor set\n");

    Run run = run("hash", "--descriptor-set", notes.toString());

    assertThat(run.exit()).isEqualTo(2);
    assertThat(run.err().lines().filter(l -> !l.isBlank()).toList()).singleElement()
        .satisfies(line -> assertThat(line).startsWith("protomatch hash: " + notes + ": not a FileDescriptorSet"));
  }

  @Test
  void validateAcceptsTheDocumentedExamplePolicy() throws Exception {
    Run run = run("validate", "--skip-reference-checks", ROOT.resolve("envoy-config/policies.yaml").toString());

    assertThat(run.exit()).isZero();
    assertThat(run.out()).contains("policies.yaml: ok (");
  }

  private Run run(String... args) throws IOException, InterruptedException {
    Path out = dir.resolve("out.txt");
    Path err = dir.resolve("err.txt");
    List<String> command = new java.util.ArrayList<>(List.of(ROOT.resolve("bin/protomatch").toString()));
    command.addAll(List.of(args));
    Process process = new ProcessBuilder(command).redirectOutput(out.toFile()).redirectError(err.toFile()).start();
    process.getOutputStream().close();
    assertThat(process.waitFor(120, TimeUnit.SECONDS)).isTrue();
    return new Run(process.exitValue(), Files.readString(out, StandardCharsets.UTF_8), Files.readString(err, StandardCharsets.UTF_8));
  }

  private static String awaitLine(Process process, Path file, String marker, Duration timeout) throws Exception {
    long deadline = System.nanoTime() + timeout.toNanos();
    while (System.nanoTime() < deadline && process.isAlive()) {
      if (Files.exists(file)) {
        for (String line : Files.readAllLines(file)) {
          if (line.contains(marker)) {
            return line;
          }
        }
      }
      Thread.sleep(100);
    }
    throw new AssertionError("no line containing '" + marker + "' in " + file + (process.isAlive() ? ""
        : " (the process exited with " + process.exitValue() + ")") + ":\n" + Files.readString(file));
  }
}
