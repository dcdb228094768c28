package dev.protomatch.cli;

import dev.protomatch.demo.AlternatingCaller;
import dev.protomatch.demo.StaticAddressesNameResolverProvider;
import io.grpc.Grpc;
import io.grpc.InsecureChannelCredentials;
import io.grpc.ManagedChannel;
import io.grpc.ManagedChannelBuilder;
import io.grpc.Status;
import java.util.Map;
import java.util.concurrent.Callable;
import java.util.concurrent.TimeUnit;
import java.util.stream.Collectors;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * {@code protomatch demo-client}: the field report's client as a process. Calls SayHello and SayHelloAgain
 * alternately and prints one line of counts by status code. {@code xds:///NAME} targets read the gRPC xDS
 * bootstrap from {@code GRPC_XDS_BOOTSTRAP}, as any proxyless gRPC client does.
 */
@Command(name = "demo-client", mixinStandardHelpOptions = true,
    description = "Calls demo.Greeter SayHello/SayHelloAgain alternately; prints 'calls=N OK=n UNIMPLEMENTED=n ...'.")
final class DemoClientCommand implements Callable<Integer> {
  @Option(names = "--target", required = true,
      description = "xds:///demo-greeter (through protomatch) or static:///h:p,h:p (round robin over all).")
  String target;

  @Option(names = "--calls", defaultValue = "1000", description = "Number of calls (default: ${DEFAULT-VALUE}).")
  int calls;

  @Override
  @SuppressWarnings("deprecation") // nameResolverFactory: the baseline's resolver is private to this channel
  public Integer call() throws InterruptedException {
    ManagedChannelBuilder<?> builder = Grpc.newChannelBuilder(target, InsecureChannelCredentials.create());
    if (target.startsWith(StaticAddressesNameResolverProvider.SCHEME + ":")) {
      builder.nameResolverFactory(new StaticAddressesNameResolverProvider()).defaultLoadBalancingPolicy("round_robin");
    }
    ManagedChannel channel = builder.build();
    try {
      AlternatingCaller.Counts counts = AlternatingCaller.run(channel, calls, 10_000);
      System.out.println("calls=" + counts.calls() + " " + counts.byCode().entrySet().stream()
          .map(e -> e.getKey() + "=" + e.getValue()).collect(Collectors.joining(" ")));
      return counts.count(Status.Code.OK) + counts.count(Status.Code.UNIMPLEMENTED) == calls ? 0 : 1;
    } finally {
      channel.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
    }
  }

  /** Parses the line {@link #call()} prints. */
  static Map<String, Integer> parse(String line) {
    return java.util.Arrays.stream(line.trim().split(" "))
        .map(kv -> kv.split("=", 2))
        .collect(Collectors.toMap(kv -> kv[0], kv -> Integer.parseInt(kv[1])));
  }
}
