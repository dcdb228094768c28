package dev.protomatch.cli;

import dev.protomatch.decision.ExcludedEndpoint;
import dev.protomatch.decision.RoutableEndpoint;
import dev.protomatch.decision.ServiceDecision;
import dev.protomatch.demo.ProtomatchProcess;
import dev.protomatch.server.ControlPlane;
import dev.protomatch.server.ControlPlaneOptions;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.UUID;
import java.util.concurrent.Callable;
import java.util.stream.Collectors;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/**
 * {@code protomatch demo}: the field failure on one machine, then its absence.
 *
 * <p>Starts a control plane, one old v1 Greeter (left running, as in the report) and two v2 Greeters, each
 * a separate process registering itself; then runs the same alternating SayHello/SayHelloAgain client
 * twice as a separate process: round robin over all instances, and through protomatch
 * ({@code xds:///demo-greeter}). Prints both UNIMPLEMENTED counts. Exits 0 when protomatch's count is 0.
 *
 * <p>Everything is written to a temporary directory: the policy, the client's bootstrap and {@code demo.log}
 * (the control plane's log and the greeters' and clients' stderr). After a successful run the directory is
 * deleted, unless {@code --keep}; after a failed one it is kept and the last line points to its log.
 */
@Command(name = "demo", mixinStandardHelpOptions = true,
    description = "Reproduces the field failure (old build left running) and shows protomatch eliminating it.")
final class DemoCommand implements Callable<Integer> {
  private static final String TOKEN_ENV = "PROTOMATCH_DEMO_TOKEN";

  @Spec
  CommandSpec spec;

  @Option(names = "--calls", defaultValue = "1000", description = "Calls per run (default: ${DEFAULT-VALUE}).")
  int calls;

  @Option(names = "--keep", description = "Keep the demo's directory (policy, bootstrap, demo.log) after a"
      + " successful run too; a failed run always keeps it.")
  boolean keep;

  @Override
  public Integer call() throws Exception {
    Path work = Files.createTempDirectory("protomatch-demo-");
    Path log = work.resolve("demo.log");
    boolean passed = false;
    try (DemoLog logged = DemoLog.to(log)) {
      passed = run(work, log) == 0;
    } catch (java.io.IOException e) { // a greeter or client process that did not start: its log says why
      throw new UserInputException("the demo failed: " + e.getMessage());
    } finally {
      PrintWriter out = spec.commandLine().getOut();
      if (passed && !keep) {
        deleteTree(work);
      } else {
        out.println("  (log of this run: " + log + ")");
      }
      out.flush();
    }
    return passed ? 0 : 1;
  }

  private int run(Path work, Path log) throws Exception {
    PrintWriter out = spec.commandLine().getOut();
    String token = UUID.randomUUID().toString();
    Path policy = Files.writeString(work.resolve("policies.yaml"), """
        # The demo's policy: demo.Greeter callers need SayHello and SayHelloAgain.
        settings:
          auth:
            token-env: %s
          lease:
            default-ttl: 10s
        services:
          - service: demo.Greeter
            cluster: demo-greeter
            expect:
              methods: [SayHello, SayHelloAgain]
        """.formatted(TOKEN_ENV));
    Map<String, String> env = Map.of(TOKEN_ENV, token);
    List<ProtomatchProcess> greeters = new ArrayList<>();
    out.println("protomatch demo: demo.Greeter with an old build (v1) left running beside two new builds (v2)");
    out.flush();
    try (ControlPlane controlPlane = ControlPlane.start(
        ControlPlaneOptions.loopbackDefaults(Optional.of(policy)).withPorts(0, 0, 0), dev.protomatch.util.MonotonicClock.startingNow(),
        name -> name.equals(TOKEN_ENV) ? token : System.getenv(name))) {
      String registration = "127.0.0.1:" + controlPlane.registrationPort();
      for (String[] greeter : new String[][] {{"v1", "old-v1"}, {"v2", "new-v2-a"}, {"v2", "new-v2-b"}}) {
        greeters.add(ProtomatchProcess.startServer(List.of("greeter", "--build", greeter[0], "--instance", greeter[1],
            "--register", registration, "--token-env", TOKEN_ENV), env, log, Duration.ofSeconds(60)));
      }
      ServiceDecision decision = awaitDecision(controlPlane, Duration.ofSeconds(30));
      for (RoutableEndpoint endpoint : decision.included()) {
        out.println("  included " + endpoint.address());
      }
      for (ExcludedEndpoint endpoint : decision.excluded()) {
        out.println("  excluded " + endpoint.address() + ": " + endpoint.reason().describe());
      }
      out.flush();

      Path bootstrap = Files.writeString(work.resolve("bootstrap.json"), """
          {"xds_servers": [{"server_uri": "127.0.0.1:%d", "channel_creds": [{"type": "insecure"}],
            "server_features": ["xds_v3"]}],
           "node": {"id": "protomatch-demo-client", "cluster": "demo", "locality": {}}}
          """.formatted(controlPlane.xdsPort()));
      String everyInstance = "static:///" + greeters.stream().map(g -> "127.0.0.1:" + g.port())
          .collect(Collectors.joining(","));
      Map<String, Integer> baseline = runClient(everyInstance, Map.of(), log);
      Map<String, Integer> filtered = runClient("xds:///demo-greeter",
          Map.of("GRPC_XDS_BOOTSTRAP", bootstrap.toString()), log);
      out.printf("  round robin over all %d instances:  %s%n", greeters.size(), summary(baseline));
      out.printf("  through protomatch (xds:///demo-greeter): %s%n", summary(filtered));
      out.println("UNIMPLEMENTED without protomatch: " + baseline.getOrDefault("UNIMPLEMENTED", 0)
          + ", with protomatch: " + filtered.getOrDefault("UNIMPLEMENTED", 0));
      out.flush();
      return filtered.getOrDefault("UNIMPLEMENTED", 0) == 0 && filtered.getOrDefault("OK", 0) == calls ? 0 : 1;
    } finally {
      greeters.forEach(ProtomatchProcess::close);
    }
  }

  /** Deletes the demo's directory (flat: its files, then itself). */
  private static void deleteTree(Path directory) throws java.io.IOException {
    try (var files = Files.list(directory)) {
      for (Path file : (Iterable<Path>) files::iterator) {
        Files.deleteIfExists(file);
      }
    }
    Files.deleteIfExists(directory);
  }

  private static ServiceDecision awaitDecision(ControlPlane controlPlane, Duration timeout) throws InterruptedException {
    long deadline = System.nanoTime() + timeout.toNanos();
    while (true) {
      ServiceDecision decision = controlPlane.updater().updateNow().services().get("demo.Greeter");
      if (decision.included().size() == 2 && decision.excluded().size() == 1 || System.nanoTime() > deadline) {
        return decision;
      }
      Thread.sleep(100);
    }
  }

  private Map<String, Integer> runClient(String target, Map<String, String> env, Path log) throws Exception {
    try (ProtomatchProcess client = ProtomatchProcess.start(
        List.of("demo-client", "--target", target, "--calls", Integer.toString(calls)), env, log)) {
      String output = client.awaitOutput(Duration.ofMinutes(5)).trim();
      if (output.isEmpty()) {
        throw new UserInputException("demo client for " + target + " printed nothing (see " + log + ")");
      }
      return DemoClientCommand.parse(output.lines().reduce((a, b) -> b).orElseThrow());
    }
  }

  private static String summary(Map<String, Integer> counts) {
    return counts.get("calls") + " calls, " + counts.getOrDefault("OK", 0) + " OK, "
        + counts.getOrDefault("UNIMPLEMENTED", 0) + " UNIMPLEMENTED"
        + (counts.size() > 3 || (counts.size() == 3 && !counts.containsKey("UNIMPLEMENTED"))
            ? " (other: " + counts.entrySet().stream().filter(e -> !List.of("calls", "OK", "UNIMPLEMENTED")
                .contains(e.getKey())).map(e -> e.getKey() + "=" + e.getValue()).collect(Collectors.joining(", ")) + ")"
            : "");
  }
}
