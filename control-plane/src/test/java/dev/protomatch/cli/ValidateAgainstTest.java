package dev.protomatch.cli;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.google.protobuf.util.Durations;
import com.sun.net.httpserver.HttpServer;
import dev.protomatch.agent.RegistrationAgent;
import dev.protomatch.api.v1.Endpoint;
import dev.protomatch.api.v1.RegisterRequest;
import dev.protomatch.api.v1.ServiceAdvertisement;
import dev.protomatch.demo.DemoGreeters;
import dev.protomatch.descriptor.RuntimeDescriptors;
import dev.protomatch.server.ControlPlane;
import dev.protomatch.server.ControlPlaneOptions;
import dev.protomatch.testing.LoopbackServer;
import java.io.IOException;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.Map;
import java.util.Optional;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code protomatch validate FILE --against ADMIN_URL} against a running control plane with a real demo.Greeter v1
 * (serves SayHello only) registered by the agent: each method the file names that no live endpoint serves is a
 * positioned warning naming what the live build serves, exit 0; an admin address that is not protomatch's is one
 * line, exit 2.
 */
class ValidateAgainstTest {
  private static final String API_V1_PREFIX = "sha256:6088e17f..";

  @TempDir
  static Path shared;

  private static LoopbackServer greeter;
  private static ControlPlane controlPlane;
  private static RegistrationAgent agent;

  @TempDir
  Path dir;

  @BeforeAll
  static void startFleet() throws Exception {
    Path policy = Files.writeString(shared.resolve("served.yaml"), """
        settings:
          auth:
            insecure: true
        services:
          - service: demo.Greeter
            cluster: demo-greeter
            expect: newest
        """);
    controlPlane = ControlPlane.start(ControlPlaneOptions.loopbackDefaults(Optional.of(policy)).withPorts(0, 0, 0),
        Clock.systemUTC(), Map.<String, String>of()::get);
    greeter = LoopbackServer.start(LoopbackServer.Reflection.V1_AND_V1ALPHA, DemoGreeters.v1("v1"));
    agent = new RegistrationAgent("127.0.0.1:" + controlPlane.registrationPort(), Optional.empty(),
        RegisterRequest.newBuilder()
            .setEndpoint(Endpoint.newBuilder().setHost("127.0.0.1").setPort(greeter.port())
                .addServices(ServiceAdvertisement.newBuilder().setName("demo.Greeter").setFileDescriptorSet(
                    RuntimeDescriptors.fileDescriptorSet(dev.protomatch.demo.v1.GreeterProto.getDescriptor())
                        .toByteString())))
            .setTtl(Durations.fromSeconds(30))
            .build());
    agent.start();
    await().atMost(Duration.ofSeconds(20)).until(() -> !controlPlane.registry().state().endpoints().isEmpty());
  }

  @AfterAll
  static void stopFleet() throws InterruptedException {
    agent.close();
    controlPlane.close();
    greeter.close();
  }

  @Test
  void methodsNoLiveEndpointServesAreWarnedWhereTheFileNamesThem() throws IOException {
    Path file = write("""
        settings:
          auth:
            insecure: true
        services:
          - service: demo.Greeter
            cluster: demo-greeter
            expect: {methods: [SayHello, SayHelloAgain]}
            retries:
              without-retries: [SayHello, SayGoodbye]
        """);

    CliRun run = CliRun.of("validate", file.toString(), "--against", admin());

    assertThat(run.err()).isEmpty();
    assertThat(run.exit()).isZero();
    assertThat(run.out().lines()).satisfiesExactly(
        line -> assertThat(line).startsWith(file + ":7:34: warning: services[0].expect.methods[1]: no live endpoint of"
            + " demo.Greeter serves SayHelloAgain (its calls would fail closed); live builds at " + admin() + ": "
            + API_V1_PREFIX + " serves SayHello"),
        line -> assertThat(line).isEqualTo(file + ":9:35: warning: services[0].retries.without-retries[1]: no live"
            + " endpoint of demo.Greeter serves SayGoodbye; live builds at " + admin() + ": " + API_V1_PREFIX
            + " serves SayHello"),
        line -> assertThat(line).isEqualTo(file + ": ok (1 service)"));
  }

  @Test
  void aServiceNoLiveEndpointClaimsIsNamedAsSuch() throws IOException {
    Path file = write("""
        settings:
          auth:
            insecure: true
        services:
          - service: shop.Checkout
            cluster: checkout
            expect:
              methods: [Charge]
        """);

    CliRun run = CliRun.of("validate", file.toString(), "--against", admin());

    assertThat(run).isEqualTo(new CliRun(0, file + ":8:17: warning: services[0].expect.methods[0]: no live endpoint"
        + " of shop.Checkout serves Charge (its calls would fail closed); no live endpoint at " + admin()
        + " claims shop.Checkout\n" + file + ": ok (1 service)\n", ""));
  }

  @Test
  void methodsTheLiveBuildServesAreNotWarnedAbout() throws IOException {
    Path file = write("""
        settings:
          auth:
            insecure: true
        services:
          - service: demo.Greeter
            cluster: demo-greeter
            expect: {methods: [SayHello]}
            retries: {without-retries: [SayHello]}
        """);

    CliRun run = CliRun.of("validate", file.toString(), "--against", admin());

    assertThat(run).isEqualTo(new CliRun(0, file + ": ok (1 service)\n", ""));
  }

  @Test
  void anUnreachableAdminAddressIsOneLineAndExitCode2() throws IOException {
    int closedPort;
    try (ServerSocket socket = new ServerSocket(0)) {
      closedPort = socket.getLocalPort();
    }
    Path file = write("settings:\n  auth:\n    insecure: true\n");

    CliRun run = CliRun.of("validate", file.toString(), "--against", "127.0.0.1:" + closedPort);

    assertThat(run).isEqualTo(new CliRun(Main.EXIT_USER_ERROR, "", "protomatch validate: cannot reach protomatch's"
        + " admin port at 127.0.0.1:" + closedPort + " (connection refused; is protomatch serve running? use --against"
        + " URL)\n"));
  }

  @Test
  void anAddressThatIsNotProtomatchIsOneLineAndExitCode2() throws IOException {
    HttpServer other = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 8);
    other.createContext("/", exchange -> {
      byte[] page = "<html>\n<p>hello</p>\n</html>\n".getBytes(StandardCharsets.UTF_8);
      exchange.sendResponseHeaders(200, page.length);
      try (OutputStream out = exchange.getResponseBody()) {
        out.write(page);
      }
    });
    other.start();
    try {
      String url = "http://127.0.0.1:" + other.getAddress().getPort();
      Path file = write("settings:\n  auth:\n    insecure: true\n");

      CliRun run = CliRun.of("validate", file.toString(), "--against", url);

      assertThat(run).isEqualTo(new CliRun(Main.EXIT_USER_ERROR, "", "protomatch validate: " + url + "/v1/endpoints"
          + " did not answer with protomatch's JSON (is " + url + " protomatch's admin port? use --against URL)\n"));
    } finally {
      other.stop(0);
    }
  }

  private static String admin() {
    return "http://127.0.0.1:" + controlPlane.adminPort();
  }

  private Path write(String content) throws IOException {
    return Files.writeString(dir.resolve("policies.yaml"), content);
  }
}
