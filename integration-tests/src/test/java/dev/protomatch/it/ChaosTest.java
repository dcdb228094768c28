package dev.protomatch.it;

import static org.assertj.core.api.SoftAssertions.assertSoftly;

import dev.protomatch.testing.Fingerprints;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * The promise under chaos, for every policy form: while demo.Greeter processes of four builds (v1 < v2 < v3
 * in methods, and v2x, whose SayHelloAgain takes another request type) are started, killed with SIGKILL and
 * restarted in a random order ({@link GreeterChaos}: including a rollback of v3 and a restart of
 * protomatch), two real xDS clients call SayHello, SayHelloAgain and SayGoodbye in turn without pause:
 * grpc-java ({@link ChaosJavaClient}) and grpc-js-xds (node-client/chaos.js), each its own process. No call
 * may be answered UNIMPLEMENTED. A call answered by a build that expects another request type (v2x's
 * INVALID_ARGUMENT) counts as "other", a method no admitted build serves as UNAVAILABLE. Also checked: each
 * client made calls (a stuck client would not), every build answered some call under {@code newest}, and
 * under a pinned hash only the pinned build (v2) answered.
 *
 * <p>Reported per form and client (target/reports/chaos.txt): calls, per method OK / UNIMPLEMENTED /
 * UNAVAILABLE / other and the longest UNAVAILABLE window, and the established TCP connections the client
 * process held to greeters ({@link ConnectionSampler}). System properties: {@code protomatch.chaos.seconds}
 * (chaos per form, default 20) and {@code protomatch.chaos.seed} (default: the clock; logged either way;
 * form i draws from seed + i).
 * One fleet serves all forms in turn: the greeters live on from one form to the next (whatever the chaos
 * left), the policy file is rewritten, and each form first starts the builds that have no live process, so
 * all four serve under traffic before the chaos begins.
 */
class ChaosTest {
  private static final Duration CHAOS = Duration.ofSeconds(Long.parseLong(System.getProperty("protomatch.chaos.seconds", "20")));
  private static final long SEED = Long.parseLong(System.getProperty("protomatch.chaos.seed",
      Long.toString(System.currentTimeMillis())));
  private static final String TARGET = "xds:///demo-greeter";
  private static final Duration POLICY_TIMEOUT = Duration.ofSeconds(30);
  private static final Duration READY_TIMEOUT = Duration.ofSeconds(90);
  private static final Duration STOP_TIMEOUT = Duration.ofSeconds(30);
  private static final String JAVA_CLIENT = "grpc-java-xds";
  private static final String NODE_CLIENT = "grpc-js-xds";
  /** Far below what either client does when it is not stuck (tens of calls a second). */
  private static final long MIN_CALLS_PER_SECOND = 4;

  private static Path root;
  private static Path nodeClient;
  private static Fleet fleet;
  private static GreeterChaos chaos;

  @BeforeAll
  static void startFleet() throws Exception {
    root = Path.of(System.getProperty("protomatch.root", "..")).toAbsolutePath().normalize();
    nodeClient = NodeClientDirectory.prepare(root, "ChaosTest");
    Reports.append("chaos", "seed " + SEED + " (-Dprotomatch.chaos.seed=" + SEED + "), " + CHAOS.toSeconds()
        + " s of chaos per policy form (-Dprotomatch.chaos.seconds); one fleet, greeters live on from form to form");
    fleet = Fleet.start(policy("expect: newest"));
    chaos = new GreeterChaos(fleet, SEED);
  }

  @AfterAll
  static void stopFleet() {
    if (fleet != null) {
      fleet.close();
    }
  }

  static Stream<Arguments> forms() {
    return Stream.of(
        Arguments.of("newest", "expect: newest"),
        Arguments.of("{methods: [SayHello]}", "expect:\n      methods: [SayHello]"),
        Arguments.of("{api: <v2>}", "expect:\n      api: " + Fingerprints.greeterV2().api().value()),
        Arguments.of("{schema: <v2>}", "expect:\n      schema: " + Fingerprints.greeterV2().schema().value()));
  }

  @ParameterizedTest(name = "expect: {0}")
  @MethodSource("forms")
  void noCallIsEverAnsweredUnimplemented(String form, String expect) throws Exception {
    long seed = SEED + forms().map(a -> a.get()[0]).toList().indexOf(form);
    fleet.applyPolicy(policy(expect), POLICY_TIMEOUT);
    chaos.takeSummary();
    chaos.reseed(seed);
    System.out.println("[chaos] expect: " + form + ", seed " + seed);
    Map<String, ClientReport> reports = new TreeMap<>();
    Map<String, ConnectionSampler.Figures> connections = new TreeMap<>();
    try (ChaosClientProcess java = startJavaClient(form); ChaosClientProcess node = startNodeClient(form)) {
      chaos.startMissingInRandomOrder(); // while the clients start: then all four builds are live under traffic
      java.awaitReady(READY_TIMEOUT);
      node.awaitReady(READY_TIMEOUT);
      try (ConnectionSampler sampler = new ConnectionSampler(Map.of(JAVA_CLIENT, java.pid(), NODE_CLIENT, node.pid()),
          chaos.greeterPorts(), Duration.ofMillis(250))) {
        chaos.run(CHAOS);
        java.requestStop();
        node.requestStop();
        reports.put(JAVA_CLIENT, java.awaitReport(STOP_TIMEOUT));
        reports.put(NODE_CLIENT, node.awaitReport(STOP_TIMEOUT));
        sampler.close();
        connections.put(JAVA_CLIENT, sampler.figures(JAVA_CLIENT));
        connections.put(NODE_CLIENT, sampler.figures(NODE_CLIENT));
      }
    }
    GreeterChaos.Summary summary = chaos.takeSummary();

    Reports.append("chaos", "expect: " + form + " (seed " + seed + "): " + summary.starts() + " greeter starts, " + summary.kills()
        + " kill -9, 1 rollback, 1 protomatch restart; events: " + String.join("; ", summary.events()));
    reports.forEach((client, report) -> Reports.append("chaos", "expect: " + form + ", " + client + ": " + report.calls()
        + " calls in " + report.elapsedMs() + " ms; UNIMPLEMENTED " + report.total("UNIMPLEMENTED") + "; "
        + describe(report) + "; longest outage (every call UNAVAILABLE) " + report.longestOutageMs() + " ms; OK by build "
        + report.builds() + "; " + connections.get(client)));

    long minCalls = Math.max(50, MIN_CALLS_PER_SECOND * CHAOS.toSeconds());
    Map<String, Integer> answeredBy = new TreeMap<>();
    reports.values().forEach(r -> r.builds().forEach((build, n) -> answeredBy.merge(build, n, Integer::sum)));
    assertSoftly(softly -> {
      reports.forEach((client, report) -> {
        softly.assertThat(report.total("UNIMPLEMENTED")).as("%s, expect: %s: calls answered UNIMPLEMENTED (%s)",
            client, form, describe(report)).isZero();
        softly.assertThat(report.calls()).as("%s, expect: %s: calls made", client, form).isGreaterThanOrEqualTo((int) minCalls);
        softly.assertThat(report.methods().keySet()).as("%s: methods called", client)
            .containsExactlyInAnyOrderElementsOf(ChaosJavaClient.METHODS);
        if (form.startsWith("{api") || form.startsWith("{schema")) {
          softly.assertThat(report.builds().keySet()).as("%s, expect: %s: builds that answered OK (a pin admits v2 only)",
              client, form).isSubsetOf("v2");
        }
      });
      if (form.equals("newest")) {
        softly.assertThat(answeredBy).as("OK replies by build under expect: newest").containsKeys(
            GreeterChaos.BUILDS.toArray(String[]::new));
      }
    });
  }

  private static String describe(ClientReport report) {
    List<String> parts = new ArrayList<>();
    report.methods().forEach((method, counts) -> parts.add(method + " " + counts));
    return String.join("; ", parts);
  }

  private static String policy(String expect) {
    return Fleet.policy("demo.Greeter", "demo-greeter", expect);
  }

  private static ChaosClientProcess startJavaClient(String form) throws Exception {
    List<String> command = List.of(ProcessHandle.current().info().command().orElse("java"), "-Xss512k", "-Xmx256m",
        "-XX:TieredStopAtLevel=1", "-cp", System.getProperty("java.class.path"), ChaosJavaClient.class.getName(),
        "--target", TARGET, "--duration-ms", Long.toString(CHAOS.plusMinutes(5).toMillis()), "--stop-on-stdin-end");
    return ChaosClientProcess.start(JAVA_CLIENT, command, fleet.workDirectory(),
        Map.of("GRPC_XDS_BOOTSTRAP", fleet.bootstrapFile("chaos-java-" + nodeSuffix(form)).toString()),
        fleet.workDirectory().resolve("client-java.log"));
  }

  private static ChaosClientProcess startNodeClient(String form) throws Exception {
    Path proto = root.resolve("proto/src/demo-v3/proto/demo/greeter.proto");
    List<String> command = List.of("node", "chaos.js", "--target", TARGET, "--proto", proto.toString(),
        "--duration-ms", Long.toString(CHAOS.plusMinutes(5).toMillis()), "--stop-on-stdin-end");
    return ChaosClientProcess.start(NODE_CLIENT, command, nodeClient,
        Map.of("GRPC_XDS_BOOTSTRAP", fleet.bootstrapFile("chaos-node-" + nodeSuffix(form)).toString()),
        fleet.workDirectory().resolve("client-node.log"));
  }

  /** An xDS node id part per form ("newest", "methods", "api", "schema"). */
  private static String nodeSuffix(String form) {
    return form.replaceAll("[^a-z]+", " ").trim().split(" ")[0];
  }
}
