package dev.protomatch.cli;

import dev.protomatch.demo.AlternatingCaller;
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
import java.time.Duration;
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
import picocli.CommandLine.Option;

/**
 * {@code protomatch demo-client}: the field report's client as a process. Calls SayHello and SayHelloAgain
 * alternately and prints one line of counts by status code. {@code xds:///NAME} targets read the gRPC xDS
 * bootstrap from {@code GRPC_XDS_BOOTSTRAP}, as any proxyless gRPC client does.
 *
 * <p>Refuses to start, with one line on stderr, when an {@code xds:} target has no bootstrap to read, and
 * when the channel fails to connect to anything within {@link #SETTLE} (nothing listening, control plane
 * down): then no calls are made and no counts are printed. grpc-java's own warnings (java.util.logging, with
 * stack traces) are muted below SEVERE while it runs.
 */
@Command(name = "demo-client", mixinStandardHelpOptions = true,
    description = {
        "Calls demo.Greeter SayHello/SayHelloAgain alternately; prints 'calls=N OK=n UNIMPLEMENTED=n ...'.",
        "An xds:/// target reads the gRPC xDS bootstrap file named by GRPC_XDS_BOOTSTRAP."})
final class DemoClientCommand implements Callable<Integer> {
  /** Where grpc-java looks for its xDS bootstrap: environment variables, then system properties. */
  static final List<String> BOOTSTRAP_VARIABLES = List.of("GRPC_XDS_BOOTSTRAP", "GRPC_XDS_BOOTSTRAP_CONFIG");
  static final List<String> BOOTSTRAP_PROPERTIES = List.of("io.grpc.xds.bootstrap", "io.grpc.xds.bootstrapConfig");
  /** How long the channel may take to connect (or fail to) before the calls start. */
  static final Duration SETTLE = Duration.ofSeconds(10);
  /** grpc-java logs through java.util.logging; held here so the level set on it is not lost to GC. */
  private static final Logger GRPC_LOG = Logger.getLogger("io.grpc");

  @Option(names = "--target", required = true,
      description = "xds:///demo-greeter (through protomatch; needs GRPC_XDS_BOOTSTRAP) or static:///h:p,h:p"
          + " (round robin over all).")
  String target;

  @Option(names = "--calls", defaultValue = "1000", description = "Number of calls (default: ${DEFAULT-VALUE}).")
  int calls;

  @Override
  public Integer call() throws InterruptedException {
    missingBootstrap(target, System::getenv, System::getProperty).ifPresent(problem -> {
      throw new UserInputException(problem);
    });
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
      AlternatingCaller.Counts counts = AlternatingCaller.run(channel, calls, 10_000);
      System.out.println("calls=" + counts.calls() + " " + counts.byCode().entrySet().stream()
          .map(e -> e.getKey() + "=" + e.getValue()).collect(Collectors.joining(" ")));
      return counts.count(Status.Code.OK) + counts.count(Status.Code.UNIMPLEMENTED) == calls ? 0 : 1;
    } finally {
      channel.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
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
        + " needs a gRPC xDS bootstrap: set GRPC_XDS_BOOTSTRAP to its path"
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
