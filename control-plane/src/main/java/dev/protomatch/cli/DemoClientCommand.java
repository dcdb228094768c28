package dev.protomatch.cli;

import com.fasterxml.jackson.core.type.TypeReference;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.protomatch.bootstrap.Bootstraps;
import dev.protomatch.demo.MethodBlockCaller;
import dev.protomatch.demo.StaticAddressesNameResolverProvider;
import dev.protomatch.demo.v2.GreeterGrpc;
import dev.protomatch.demo.v2.HelloRequest;
import io.grpc.ConnectivityState;
import io.grpc.Grpc;
import io.grpc.InsecureChannelCredentials;
import io.grpc.ManagedChannel;
import io.grpc.ManagedChannelBuilder;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.xds.XdsNameResolverProvider;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.function.Function;
import java.util.logging.Level;
import java.util.logging.Logger;
import java.util.stream.Collectors;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/**
 * {@code protomatch demo-client}: the field report's client as a process. Calls SayHello and SayHelloAgain in
 * alternating blocks ({@link MethodBlockCaller}) and prints, per method, the counts by status code and per
 * endpoint that answered, then one line of totals ({@code calls=N OK=n ...}, always the last line; {@link #parse}
 * reads it). An {@code xds:///NAME} target reads the gRPC xDS bootstrap from {@code GRPC_XDS_BOOTSTRAP}, as any
 * proxyless gRPC client does, unless {@code --xds-server HOST:PORT} is given: then the channel gets its own
 * bootstrap for that address ({@link Bootstraps#proxyless}, what {@code protomatch bootstrap --kind proxyless}
 * prints), and whatever {@code GRPC_XDS_BOOTSTRAP} says is not read.
 *
 * <p>Refuses to start, with one line on stderr, when an {@code xds:} target has no bootstrap to read, when
 * {@code --xds-server} is not HOST:PORT or comes with another target, and when the channel fails to connect
 * to anything within {@link #SETTLE} (nothing listening, control plane down): then no calls are made and no
 * counts are printed. grpc-java's own warnings (java.util.logging, with stack traces) are muted below SEVERE
 * while it runs.
 */
@Command(name = "demo-client", mixinStandardHelpOptions = true,
    description = {
        "Calls SayHello/SayHelloAgain; prints counts per method and answering endpoint.",
        "Methods alternate in blocks of " + MethodBlockCaller.BLOCK + " calls; the last line has the totals:",
        "'calls=N OK=n UNIMPLEMENTED=n ...'.",
        "xds:///NAME targets read the gRPC xDS bootstrap named by GRPC_XDS_BOOTSTRAP;",
        "with --xds-server HOST:PORT they use a bootstrap for that address instead."})
final class DemoClientCommand implements Callable<Integer> {
  /** Where grpc-java looks for its xDS bootstrap: environment variables, then system properties. */
  static final List<String> BOOTSTRAP_VARIABLES = List.of("GRPC_XDS_BOOTSTRAP", "GRPC_XDS_BOOTSTRAP_CONFIG");
  static final List<String> BOOTSTRAP_PROPERTIES = List.of("io.grpc.xds.bootstrap", "io.grpc.xds.bootstrapConfig");
  /** How long the channel may take to connect (or fail to) before the calls start. */
  static final Duration SETTLE = Duration.ofSeconds(10);
  /** grpc-java logs through java.util.logging; held here so the level set on it is not lost to GC. */
  private static final Logger GRPC_LOG = Logger.getLogger("io.grpc");

  @Spec
  CommandSpec spec;

  @Option(names = "--target", required = true,
      description = "xds:///demo-greeter (through protomatch; needs GRPC_XDS_BOOTSTRAP or --xds-server) or"
          + " static:///h:p,h:p (round robin over all).")
  String target;

  @Option(names = "--xds-server", paramLabel = "HOST:PORT",
      description = "protomatch's xDS address, for an xds:/// target: the client uses a proxyless bootstrap for it"
          + " (as 'protomatch bootstrap --kind proxyless' prints) instead of GRPC_XDS_BOOTSTRAP.")
  String xdsServer;

  @Option(names = "--node-id", paramLabel = "ID",
      description = "The node id in that bootstrap (default: demo-client-<pid>); only with --xds-server.")
  String nodeId;

  @Option(names = "--calls", defaultValue = "1000", description = "Number of calls (default: ${DEFAULT-VALUE}).")
  int calls;

  @Override
  public Integer call() throws InterruptedException {
    if (xdsServer == null) {
      if (nodeId != null) {
        throw new UserInputException("--node-id names the node of the bootstrap --xds-server writes; give"
            + " --xds-server HOST:PORT too (or set the node id in the GRPC_XDS_BOOTSTRAP file)");
      }
      missingBootstrap(target, System::getenv, System::getProperty).ifPresent(problem -> {
        throw new UserInputException(problem);
      });
    } else if (!target.startsWith("xds:")) {
      throw new UserInputException("--xds-server is for an xds:/// target, not --target " + target);
    }
    Level grpcLevel = GRPC_LOG.getLevel();
    GRPC_LOG.setLevel(Level.SEVERE); // its resolver warnings carry stack traces; the failure is reported below
    try {
      return callThroughChannel();
    } finally {
      GRPC_LOG.setLevel(grpcLevel);
    }
  }

  @SuppressWarnings("deprecation") // nameResolverFactory: the baseline's resolver is private to this channel
  private int callThroughChannel() throws InterruptedException {
    ManagedChannelBuilder<?> builder = Grpc.newChannelBuilder(target, InsecureChannelCredentials.create());
    if (target.startsWith(StaticAddressesNameResolverProvider.SCHEME + ":")) {
      builder.nameResolverFactory(new StaticAddressesNameResolverProvider()).defaultLoadBalancingPolicy("round_robin");
    } else if (xdsServer != null) {
      // A resolver with its own bootstrap: grpc-java's shared one reads GRPC_XDS_BOOTSTRAP (which would win
      // over a system property) once per JVM.
      builder.nameResolverFactory(XdsNameResolverProvider.createForTest("xds", bootstrap(xdsServer,
          nodeId == null ? "demo-client-" + ProcessHandle.current().pid() : nodeId)));
    }
    ManagedChannel channel;
    try {
      channel = builder.build();
    } catch (IllegalArgumentException e) { // no name resolver for the target's scheme
      throw new UserInputException("--target " + target + ": " + e.getMessage()
          + " (use xds:///NAME or static:///HOST:PORT,...)");
    }
    try {
      if (settle(channel, SETTLE) == ConnectivityState.TRANSIENT_FAILURE) {
        whyUnreachable(channel).ifPresent(why -> {
          throw new UserInputException("cannot reach demo.Greeter through " + target + ": " + why);
        });
      }
      MethodBlockCaller.Tally tally = MethodBlockCaller.run(channel, calls, 10_000);
      java.io.PrintWriter out = spec.commandLine().getOut();
      report(tally).forEach(out::println);
      out.flush();
      return tally.count(Status.Code.OK) + tally.count(Status.Code.UNIMPLEMENTED) == calls ? 0 : 1;
    } finally {
      channel.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
    }
  }

  /**
   * The printed report: per method called, {@code METHOD: calls=N CODE=n ...} and one indented line per
   * endpoint that answered it ({@code host:port NAME (BUILD): calls=N CODE=n ...}, the name when a reply gave
   * one); last, the totals line {@link #parse} reads.
   */
  static List<String> report(MethodBlockCaller.Tally tally) {
    List<String> lines = new ArrayList<>();
    for (String method : MethodBlockCaller.methods()) {
      Map<String, Map<Status.Code, Integer>> byEndpoint = tally.counts().get(method);
      if (byEndpoint == null) {
        continue;
      }
      lines.add(method + ": " + counts(tally.byCode(method)));
      byEndpoint.forEach((endpoint, codes) -> lines.add("  " + endpoint
          + (tally.names().containsKey(endpoint) ? " " + tally.names().get(endpoint) : "") + ": " + counts(codes)));
    }
    lines.add(counts(tally.byCode()));
    return lines;
  }

  /** {@code calls=N CODE=n ...}, codes in the order of {@link Status.Code}. */
  private static String counts(Map<Status.Code, Integer> byCode) {
    int calls = byCode.values().stream().mapToInt(Integer::intValue).sum();
    return "calls=" + calls + byCode.entrySet().stream().map(e -> " " + e.getKey() + "=" + e.getValue())
        .collect(Collectors.joining());
  }

  /** A proxyless bootstrap (as grpc-java reads it) for protomatch's xDS port at {@code hostPort}. */
  static Map<String, ?> bootstrap(String hostPort, String node) {
    dev.protomatch.policy.HostPort server = BootstrapCommand.xdsServer(hostPort);
    String json = Bootstraps.proxyless(new Bootstraps.Target(server.host(), server.port(), node, "demo-client"));
    try {
      return new ObjectMapper().readValue(json, new TypeReference<Map<String, Object>>() {});
    } catch (IOException e) {
      throw new UncheckedIOException("the bundled proxyless bootstrap is not JSON", e);
    }
  }

  /**
   * Why grpc-java would fail to start an xDS client for {@code target}: none of the places it reads its
   * bootstrap from is set. Empty for other targets, or when one is set.
   */
  static Optional<String> missingBootstrap(String target, Function<String, String> env,
                                           Function<String, String> properties) {
    if (!target.startsWith("xds:")) {
      return Optional.empty();
    }
    boolean set = BOOTSTRAP_VARIABLES.stream().anyMatch(name -> env.apply(name) != null)
        || BOOTSTRAP_PROPERTIES.stream().anyMatch(name -> properties.apply(name) != null);
    return set ? Optional.empty() : Optional.of("--target " + target
        + " needs a gRPC xDS bootstrap: give --xds-server HOST:PORT, or set GRPC_XDS_BOOTSTRAP to its path"
        + " (e.g. envoy-config/proxyless-bootstrap.json)");
  }

  /** Leaves idle and waits (at most {@code timeout}) until the channel is READY or has failed to connect. */
  private static ConnectivityState settle(ManagedChannel channel, Duration timeout) throws InterruptedException {
    long deadline = System.nanoTime() + timeout.toNanos();
    ConnectivityState state = channel.getState(true);
    while (state != ConnectivityState.READY && state != ConnectivityState.TRANSIENT_FAILURE) {
      long left = deadline - System.nanoTime();
      if (left <= 0) {
        return state;
      }
      CountDownLatch changed = new CountDownLatch(1);
      channel.notifyWhenStateChanged(state, changed::countDown);
      changed.await(left, TimeUnit.NANOSECONDS);
      state = channel.getState(true);
    }
    return state;
  }

  /**
   * The status of one call on a channel in TRANSIENT_FAILURE (it fails fast), on one line; empty if the call
   * reached a server after all (the channel recovered meanwhile).
   */
  private static Optional<String> whyUnreachable(ManagedChannel channel) {
    try {
      GreeterGrpc.newBlockingStub(channel).withDeadlineAfter(SETTLE.toMillis(), TimeUnit.MILLISECONDS)
          .sayHello(HelloRequest.newBuilder().setName("reachability").build());
      return Optional.empty();
    } catch (StatusRuntimeException e) {
      Status.Code code = e.getStatus().getCode();
      if (code != Status.Code.UNAVAILABLE && code != Status.Code.DEADLINE_EXCEEDED) {
        return Optional.empty(); // it reached a server
      }
      String description = e.getStatus().getDescription();
      Throwable cause = e.getStatus().getCause();
      String detail = description == null ? "" : ": " + description.lines().findFirst().orElse("");
      if (cause != null && cause.getMessage() != null) {
        detail += " (" + cause.getMessage().lines().findFirst().orElse("") + ")";
      }
      return Optional.of(e.getStatus().getCode() + detail);
    }
  }

  /** Parses the line {@link #call()} prints. */
  static Map<String, Integer> parse(String line) {
    return java.util.Arrays.stream(line.trim().split(" "))
        .map(kv -> kv.split("=", 2))
        .collect(Collectors.toMap(kv -> kv[0], kv -> Integer.parseInt(kv[1])));
  }
}
