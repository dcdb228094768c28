package dev.protomatch.it;

import dev.protomatch.demo.v3.GreeterGrpc;
import dev.protomatch.demo.v3.HelloReply;
import dev.protomatch.demo.v3.HelloRequest;
import io.grpc.Grpc;
import io.grpc.InsecureChannelCredentials;
import io.grpc.ManagedChannel;
import io.grpc.StatusRuntimeException;
import java.io.IOException;
import java.io.InputStream;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The chaos test's grpc-java client, run as its own process (so that its TCP connections can be counted
 * apart from the control plane's prober): grpc-java's xDS resolver (grpc-xds, bootstrap from
 * GRPC_XDS_BOOTSTRAP) and the v3 stubs, calling SayHello, SayHelloAgain and SayGoodbye in turn, one call
 * at a time. The same options and output as integration-tests/node-client/chaos.js:
 *
 * <pre>
 *   GRPC_XDS_BOOTSTRAP=bootstrap.json java -cp ... dev.protomatch.it.ChaosJavaClient \
 *       [--target xds:///demo-greeter] [--duration-ms 30000] [--deadline-ms 2000] [--pause-ms 10] \
 *       [--warmup-ms 60000] [--stop-on-stdin-end]
 * </pre>
 *
 * prints {@code {"ready":true,"pid":N}} once a SayHello was answered OK (not counted), then calls until the
 * duration passed or (with {@code --stop-on-stdin-end}) stdin was closed, and prints the counts as one line
 * of JSON (see {@link CallTally}).
 */
public final class ChaosJavaClient {
  static final List<String> METHODS = List.of("SayHello", "SayHelloAgain", "SayGoodbye");
  private static final Pattern BUILD = Pattern.compile("\\((v[0-9a-z]+)\\)$");

  private ChaosJavaClient() {}

  public static void main(String[] argv) throws Exception {
    Map<String, String> args = parse(argv);
    String target = args.getOrDefault("--target", "xds:///demo-greeter");
    long durationMs = number(args, "--duration-ms", 30_000, 1);
    long deadlineMs = number(args, "--deadline-ms", 2_000, 1);
    long pauseMs = number(args, "--pause-ms", 10, 0);
    long warmupMs = number(args, "--warmup-ms", 60_000, 1);

    ManagedChannel channel = Grpc.newChannelBuilder(target, InsecureChannelCredentials.create()).build();
    GreeterGrpc.GreeterBlockingStub stub = GreeterGrpc.newBlockingStub(channel);
    warmUp(stub, deadlineMs, warmupMs, target);
    System.out.println("{\"ready\":true,\"pid\":" + ProcessHandle.current().pid() + "}");
    System.out.flush();

    Thread stdin = null;
    if (args.containsKey("--stop-on-stdin-end")) {
      stdin = new Thread(ChaosJavaClient::drainStdin, "stdin");
      stdin.setDaemon(true);
      stdin.start();
    }
    CallTally tally = new CallTally(METHODS);
    long started = System.currentTimeMillis();
    for (int i = 0; (stdin == null || stdin.isAlive()) && System.currentTimeMillis() - started < durationMs; i++) {
      String method = METHODS.get(i % METHODS.size());
      HelloRequest request = HelloRequest.newBuilder().setName("chaos-" + i).build();
      long start = System.currentTimeMillis();
      String code = "OK";
      String build = null;
      try {
        GreeterGrpc.GreeterBlockingStub call = stub.withDeadlineAfter(deadlineMs, TimeUnit.MILLISECONDS);
        HelloReply reply = switch (method) {
          case "SayHello" -> call.sayHello(request);
          case "SayHelloAgain" -> call.sayHelloAgain(request);
          default -> call.sayGoodbye(request);
        };
        Matcher matcher = BUILD.matcher(reply.getMessage());
        build = matcher.find() ? matcher.group(1) : null;
      } catch (StatusRuntimeException e) {
        code = e.getStatus().getCode().name();
      }
      tally.record(method, code, build, start, System.currentTimeMillis());
      if (pauseMs > 0) {
        Thread.sleep(pauseMs);
      }
    }
    long elapsed = System.currentTimeMillis() - started;
    channel.shutdownNow();
    System.out.println(tally.toJson("grpc-java-xds", elapsed));
    System.out.flush();
    System.exit(0); // the xDS client's threads need not be waited for
  }

  /** Not counted: retries SayHello until one is OK, so xDS resolution latency is not a failure. */
  private static void warmUp(GreeterGrpc.GreeterBlockingStub stub, long deadlineMs, long warmupMs, String target)
      throws InterruptedException {
    long until = System.currentTimeMillis() + warmupMs;
    StatusRuntimeException last = null;
    while (System.currentTimeMillis() < until) {
      try {
        stub.withDeadlineAfter(deadlineMs, TimeUnit.MILLISECONDS).sayHello(HelloRequest.newBuilder().setName("warm-up").build());
        return;
      } catch (StatusRuntimeException e) {
        last = e;
      }
      Thread.sleep(100);
    }
    System.err.println("no OK from SayHello on " + target + " within " + warmupMs + " ms (last: "
        + (last == null ? "none" : last.getStatus()) + ")");
    System.exit(1);
  }

  private static void drainStdin() {
    InputStream in = System.in;
    byte[] buffer = new byte[256];
    try {
      while (in.read(buffer) >= 0) {
        // nothing: the caller only closes stdin
      }
    } catch (IOException e) {
      // a broken stdin means the same as a closed one
    }
  }

  private static Map<String, String> parse(String[] argv) {
    Map<String, String> args = new HashMap<>();
    for (int i = 0; i < argv.length; i++) {
      String name = argv[i];
      switch (name) {
        case "--stop-on-stdin-end" -> args.put(name, "true");
        case "--target", "--duration-ms", "--deadline-ms", "--pause-ms", "--warmup-ms" -> {
          if (i + 1 >= argv.length) {
            usage(name + ": missing value");
          }
          args.put(name, argv[++i]);
        }
        default -> usage("unknown option '" + name + "'");
      }
    }
    return args;
  }

  private static long number(Map<String, String> args, String name, long fallback, long min) {
    String text = args.get(name);
    if (text == null) {
      return fallback;
    }
    try {
      long value = Long.parseLong(text);
      if (value >= min) {
        return value;
      }
    } catch (NumberFormatException e) {
      // reported below
    }
    usage(name + ": expected an integer >= " + min + ", got '" + text + "'");
    return fallback;
  }

  private static void usage(String problem) {
    System.err.println("ChaosJavaClient: " + problem);
    System.exit(2);
  }
}
