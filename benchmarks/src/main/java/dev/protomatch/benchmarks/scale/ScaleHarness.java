package dev.protomatch.benchmarks.scale;

import com.google.protobuf.ByteString;
import dev.protomatch.api.v1.DeregisterRequest;
import dev.protomatch.api.v1.Endpoint;
import dev.protomatch.api.v1.KeepAliveRequest;
import dev.protomatch.api.v1.RegisterRequest;
import dev.protomatch.api.v1.RegisterResponse;
import dev.protomatch.api.v1.RegistrationGrpc;
import dev.protomatch.api.v1.ServiceAdvertisement;
import io.grpc.ManagedChannel;
import io.grpc.netty.shaded.io.grpc.netty.NettyChannelBuilder;
import io.grpc.stub.StreamObserver;
import java.io.IOException;
import java.net.ServerSocket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReferenceArray;

/**
 * Scale harness (a runnable main, not a test): a protomatch control plane as a process of its own, a fleet of
 * {@code --endpoints} endpoints over {@code --services} services in {@code --builds} builds registered through
 * the registration API (leases of {@code --ttl} s kept alive at a third of it), and a {@link LoadGenerator} JVM
 * holding {@code --streams} ADS streams ({@code --envoy} of them Envoy-style wildcard, the rest proxyless
 * watching {@code --watch} services each; every other stream of each kind delta). It then measures steady state
 * (keep-alives only) for {@code --steady-seconds} and makes {@code --changes} registration changes (register a
 * new endpoint of the newest build of a service, then deregister it), timing each from the registration call
 * until every stream watching the service has ACKed an assignment that reflects it.
 *
 * <p>{@code --inject static} declares the fleet instead as {@code static-endpoints} in the policy (written over the
 * running control plane's policy file, which it polls every second), learned by probing: {@link DarkFleet} then
 * answers reflection per address with the endpoint's build. {@code --inject both} runs protomatch twice, the fleet
 * registered, then injected ({@code protomatch static}); either way the table says how long until the routing
 * decision held the whole fleet and what that cost in CPU. Changes are registrations in both.
 *
 * <p>With {@code --bare} it runs the same load generator against {@link BareControlPlane} (java-control-plane
 * alone, fed the equivalent snapshots) and prints its column and the ratio of the first column to it;
 * {@code --bare-only} skips protomatch. Each run appends its rows to {@code --csv} (default
 * {@code benchmarks/target/scale/scale.csv}). {@code --sweep 100,500,1000,2000} runs all of that once per number
 * of streams N (a tenth of them Envoy-style), appending to one CSV (default {@code <out>/sweep.csv}), then renders
 * {@link ConvergenceChart}'s PNG of p99 convergence against N ({@code <out>/sweep.png}).
 *
 * <pre>java -cp benchmarks/target/benchmarks.jar dev.protomatch.benchmarks.scale.ScaleHarness \
 *     --endpoints 500 --services 50 --streams 100 --envoy 10 --changes 20 --bare</pre>
 */
public final class ScaleHarness {
  private final Map<String, String> args;
  private final DarkFleet dark;
  private final Fleet fleet;
  private final int streams;
  private final int envoy;
  private final int changes;
  private final int steadySeconds;
  private final int ttl;
  private final Path out;

  private ScaleHarness(Map<String, String> args, DarkFleet dark) {
    this.args = args;
    this.dark = dark;
    try {
      this.fleet = new Fleet(num("endpoints", 500), num("services", 50), num("builds", 2), num("port", 0));
    } catch (UsageException e) {
      throw e;
    } catch (IllegalArgumentException e) {
      throw new UsageException(e.getMessage());
    }
    this.streams = num("streams", 100);
    this.envoy = num("envoy", Math.max(1, streams / 10));
    this.changes = num("changes", 20);
    this.steadySeconds = num("steady-seconds", 20);
    this.ttl = num("ttl", 30);
    this.out = Path.of(args.getOrDefault("out", "benchmarks/target/scale"));
  }

  /** What one control plane measured. */
  record Result(String name, Map<String, Double> values, List<Double> all, List<Double> sotw, List<Double> delta) {}

  /** One run at one size: what each control plane measured, the table's rows (one value per column), its text. */
  record Run(int streams, List<Result> results, Map<String, double[]> table, String text) {}

  /** A bad command line: one line saying what is wrong. */
  static final class UsageException extends IllegalArgumentException {
    UsageException(String message) {
      super(message);
    }
  }

  public static void main(String[] argv) throws Exception {
    try {
      run(parse(argv));
    } catch (UsageException e) {
      System.err.println("scale harness: " + e.getMessage());
      System.exit(2);
    }
    System.exit(0);
  }

  static Map<String, String> parse(String... argv) {
    Map<String, String> args = new LinkedHashMap<>();
    for (int i = 0; i < argv.length; i++) {
      if (!argv[i].startsWith("--")) {
        throw new UsageException("unexpected argument '" + argv[i] + "' (options are --name value or --flag)");
      }
      boolean flag = i + 1 >= argv.length || argv[i + 1].startsWith("--");
      args.put(argv[i].substring(2), flag ? "true" : argv[++i]);
    }
    return args;
  }

  /**
   * Runs the harness as {@code args} say (once, or once per N of {@code --sweep}), prints each table and appends
   * to the CSV; returns the runs. Stops every process it started, also when a run fails.
   */
  static List<Run> run(Map<String, String> given) throws Exception {
    Map<String, String> args = new LinkedHashMap<>(given);
    String inject = args.getOrDefault("inject", "register");
    if (!List.of("register", "static", "both").contains(inject)) {
      throw new UsageException("--inject '" + inject + "': expected register, static or both");
    }
    List<Integer> sweep = new ArrayList<>();
    if (args.containsKey("sweep")) {
      if (args.containsKey("streams") || args.containsKey("envoy")) {
        throw new UsageException("--sweep sets --streams and --envoy (a tenth of each N); give neither");
      }
      for (String n : args.get("sweep").split(",")) {
        try {
          sweep.add(Integer.parseInt(n.trim()));
        } catch (NumberFormatException e) {
          sweep.add(-1);
        }
        if (sweep.get(sweep.size() - 1) < 1) {
          throw new UsageException("--sweep '" + args.get("sweep") + "': expected positive whole numbers separated"
              + " by commas, such as 100,500,1000,2000");
        }
      }
    }
    List<Run> runs = new ArrayList<>();
    try (DarkFleet dark = DarkFleet.start(new ScaleHarness(args, null).num("port", 0))) {
      args.put("port", String.valueOf(dark.port()));
      if (sweep.isEmpty()) {
        runs.add(new ScaleHarness(args, dark).runAll());
        return runs;
      }
      Path out = Path.of(args.getOrDefault("out", "benchmarks/target/scale"));
      args.putIfAbsent("csv", out.resolve("sweep.csv").toString());
      for (int n : sweep) {
        Map<String, String> size = new LinkedHashMap<>(args);
        size.put("streams", String.valueOf(n));
        size.put("envoy", String.valueOf(n / 10));
        log("sweep: N = " + n);
        runs.add(new ScaleHarness(size, dark).runAll());
      }
      Path png = out.resolve("sweep.png");
      ConvergenceChart.render(Path.of(args.get("csv")), png, "convergence p99 ms (all)",
          new ScaleHarness(args, null).fleet.endpoints());
      log("sweep: chart of p99 convergence against N in " + png);
      return runs;
    }
  }

  private Run runAll() throws Exception {
    String inject = args.getOrDefault("inject", "register");
    List<Result> results = new ArrayList<>();
    if (!args.containsKey("bare-only")) {
      if (!inject.equals("static")) {
        results.add(runProtomatch(false));
      }
      if (!inject.equals("register")) {
        results.add(runProtomatch(true));
      }
    }
    if (args.containsKey("bare") || args.containsKey("bare-only")) {
      results.add(runBare());
    }
    return print(results);
  }

  private int num(String name, int fallback) {
    String value = args.getOrDefault(name, String.valueOf(fallback));
    try {
      return Integer.parseInt(value);
    } catch (NumberFormatException e) {
      throw new UsageException("--" + name + " '" + value + "': expected a whole number");
    }
  }

  /** {@code --cp-jvm "..."} for either control plane; {@code --jfr}: a JFR profile of it in {@code --out}. */
  private List<String> jvm(String key, String jfrName) {
    String value = args.getOrDefault(key, "");
    List<String> options = new ArrayList<>(value.isBlank() ? List.of() : List.of(value.trim().split("\\s+")));
    if (jfrName != null && args.containsKey("jfr")) {
      options.add("-XX:StartFlightRecording=filename=" + out.resolve(jfrName + ".jfr").toAbsolutePath()
          + ",settings=profile");
    }
    return options;
  }

  // ---------------------------------------------------------------- protomatch

  /**
   * protomatch with the fleet registered, or with {@code injected} declared as static endpoints: the control plane
   * starts with the services alone, then the policy file is replaced by one that lists the fleet.
   */
  private Result runProtomatch(boolean injected) throws Exception {
    String name = injected ? "protomatch static" : "protomatch";
    String file = injected ? "protomatch-static" : "protomatch";
    int xds = freePort();
    int registrationPort = freePort();
    int admin = freePort();
    Files.createDirectories(out);
    String probeInterval = args.getOrDefault("probe-interval", "1h");
    Path policy = Files.writeString(out.resolve(file + "-policy.yaml"), fleet.policyYaml(ttl, probeInterval));
    Map<String, Double> v = new LinkedHashMap<>();
    log(name + ": starting the control plane (log: " + out.resolve(file + ".log") + ")");
    try (ChildProcess cp = ChildProcess.start(name, jvm("cp-jvm", file), "dev.protomatch.cli.Main",
        List.of("serve", "--config", policy.toString(), "--xds-port", "" + xds, "--registration-port",
            "" + registrationPort, "--admin-port", "" + admin, "--warmup-seconds", "0"), out.resolve(file + ".log"))) {
      awaitHealthy(admin);
      awaitListening(registrationPort);
      awaitListening(xds);
      ManagedChannel channel = NettyChannelBuilder.forAddress("127.0.0.1", registrationPort).usePlaintext()
          .maxInboundMessageSize(16 << 20).build();
      RegistrationGrpc.RegistrationStub async = RegistrationGrpc.newStub(channel);
      RegistrationGrpc.RegistrationBlockingStub blocking = RegistrationGrpc.newBlockingStub(channel);

      double cpu0 = cp.cpuSeconds();
      long t0 = System.nanoTime();
      ScheduledExecutorService keepAlives = null;
      if (injected) {
        dark.answerReflection(fleet);
        long answers0 = dark.reflectionAnswers();
        Path next = out.resolve(file + "-policy.yaml.next");
        Files.writeString(next, fleet.policyYaml(ttl, probeInterval, true));
        Files.move(next, policy, java.nio.file.StandardCopyOption.REPLACE_EXISTING,
            java.nio.file.StandardCopyOption.ATOMIC_MOVE);
        awaitHeld(admin, name);
        log(name + ": the dark fleet answered " + (dark.reflectionAnswers() - answers0) + " reflection requests");
      } else {
        AtomicReferenceArray<String> leases = new AtomicReferenceArray<>(fleet.endpoints());
        keepAlives = keepAlives(async, leases); // renewing while the rest register
        registerFleet(async, leases);
        double regSeconds = (System.nanoTime() - t0) / 1e9;
        v.put("registrations/s", fleet.endpoints() / regSeconds);
        v.put("CPU ms per registration", (cp.cpuSeconds() - cpu0) * 1000 / fleet.endpoints());
        log(String.format(Locale.ROOT, "%s: %d endpoints registered in %.1f s", name, fleet.endpoints(), regSeconds));
        awaitHeld(admin, name);
      }
      double heldSeconds = (System.nanoTime() - t0) / 1e9;
      v.put("fleet held after s", heldSeconds);
      v.put("CPU s until the fleet is held", cp.cpuSeconds() - cpu0);
      log(String.format(Locale.ROOT, "%s: the routing decision includes all %d endpoints after %.1f s", name,
          fleet.endpoints(), heldSeconds));

      try (ChildProcess lg = startLoadGenerator(xds)) {
        awaitReady(lg);
        measure(cp, lg, v, (j, add, service, host) -> {
          if (add) {
            markerLease = blocking.register(registerRequest(service, fleet.builds() - 1, host)).getLeaseId();
          } else {
            blocking.deregister(DeregisterRequest.newBuilder().setLeaseId(markerLease).build());
          }
        }, admin);
        if (!injected) {
          v.put("leases lost (registered again)", (double) leasesLost.getAndSet(0));
        }
        Result result = finish(name, cp, lg, v);
        stop(keepAlives);
        channel.shutdownNow();
        return result;
      } finally {
        stop(keepAlives);
        dark.answerReflection(null);
      }
    }
  }

  private static void stop(ScheduledExecutorService keepAlives) {
    if (keepAlives != null) {
      keepAlives.shutdownNow();
    }
  }

  /**
   * Until protomatch's routing decision includes every fleet endpoint (the sum of {@code protomatch_endpoints}
   * {@code state="included"} over services, scraped every 100 ms), or {@code --ready-timeout}.
   */
  private void awaitHeld(int admin, String name) throws Exception {
    HttpClient http = HttpClient.newHttpClient();
    HttpRequest scrape = HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + admin + "/metrics")).build();
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(num("ready-timeout", 300));
    long included = 0;
    while (System.nanoTime() < deadline) {
      included = 0;
      for (String line : http.send(scrape, HttpResponse.BodyHandlers.ofString()).body().split("\n")) {
        if (line.startsWith("protomatch_endpoints{") && line.contains("state=\"included\"")) {
          included += (long) Double.parseDouble(line.substring(line.lastIndexOf(' ') + 1));
        }
      }
      if (included >= fleet.endpoints()) {
        return;
      }
      Thread.sleep(100);
    }
    throw new IllegalStateException(name + ": the routing decision includes " + included + " of the fleet's "
        + fleet.endpoints() + " endpoints after " + num("ready-timeout", 300) + " s");
  }

  private String markerLease;
  /** Leases that ran out before their renewal was served, and were registered again (this control plane). */
  private final AtomicInteger leasesLost = new AtomicInteger();
  private final AtomicInteger keepAliveFailures = new AtomicInteger();

  private RegisterRequest registerRequest(int service, int build, String host) {
    return RegisterRequest.newBuilder().setEndpoint(Endpoint.newBuilder().setHost(host).setPort(fleet.port())
            .addServices(ServiceAdvertisement.newBuilder().setName(Fleet.service(service))
                .setFileDescriptorSet(ByteString.copyFrom(Fleet.descriptorSet(service, build)))))
        .setTtl(com.google.protobuf.Duration.newBuilder().setSeconds(ttl)).build();
  }

  private void registerFleet(RegistrationGrpc.RegistrationStub async, AtomicReferenceArray<String> leases)
      throws Exception {
    Semaphore inFlight = new Semaphore(64);
    AtomicInteger failures = new AtomicInteger();
    for (int e = 0; e < fleet.endpoints(); e++) {
      inFlight.acquire();
      int endpoint = e;
      async.register(registerRequest(fleet.serviceOf(e), fleet.buildOf(e), Fleet.host(e)), new StreamObserver<>() {
        @Override
        public void onNext(RegisterResponse response) {
          leases.set(endpoint, response.getLeaseId());
        }

        @Override
        public void onError(Throwable t) {
          if (failures.incrementAndGet() <= 3) {
            System.err.println("registration of endpoint " + endpoint + " failed: " + t);
          }
          inFlight.release();
        }

        @Override
        public void onCompleted() {
          inFlight.release();
        }
      });
    }
    inFlight.acquire(64);
    if (failures.get() > 0) {
      throw new IllegalStateException(failures.get() + " registrations failed");
    }
  }

  /**
   * Renews every lease once per third of the TTL, spread evenly over that time in 100 ms slices. A lease the
   * control plane no longer knows (NOT_FOUND: it ran out before its renewal was served) is registered again, as
   * a registration agent does, and counted in {@link #leasesLost}.
   */
  private ScheduledExecutorService keepAlives(RegistrationGrpc.RegistrationStub async,
                                              AtomicReferenceArray<String> leases) {
    ScheduledExecutorService timer = Executors.newSingleThreadScheduledExecutor();
    int slices = Math.max(1, ttl * 1000 / 3 / 100);
    AtomicInteger slice = new AtomicInteger();
    timer.scheduleAtFixedRate(() -> {
      int s = slice.getAndIncrement() % slices;
      for (int e = s; e < leases.length(); e += slices) {
        String lease = leases.get(e);
        if (lease != null) {
          async.keepAlive(KeepAliveRequest.newBuilder().setLeaseId(lease).build(), renewal(async, leases, e, lease,
              timer));
        }
      }
    }, 100, 100, TimeUnit.MILLISECONDS);
    return timer;
  }

  private StreamObserver<dev.protomatch.api.v1.KeepAliveResponse> renewal(RegistrationGrpc.RegistrationStub async,
      AtomicReferenceArray<String> leases, int endpoint, String lease, ScheduledExecutorService timer) {
    return new StreamObserver<>() {
      @Override
      public void onNext(dev.protomatch.api.v1.KeepAliveResponse value) { }

      @Override
      public void onError(Throwable t) {
        if (timer.isShutdown()) {
          return;
        }
        if (io.grpc.Status.fromThrowable(t).getCode() == io.grpc.Status.Code.NOT_FOUND
            && leases.compareAndSet(endpoint, lease, null)) {
          if (leasesLost.incrementAndGet() % 100 == 1) {
            System.err.println("lease of endpoint " + endpoint + " ran out (" + leasesLost.get()
                + " so far); registering it again");
          }
          async.register(registerRequest(fleet.serviceOf(endpoint), fleet.buildOf(endpoint), Fleet.host(endpoint)),
              new StreamObserver<>() {
                @Override
                public void onNext(RegisterResponse response) {
                  leases.set(endpoint, response.getLeaseId());
                }

                @Override
                public void onError(Throwable e) {
                  System.err.println("registering endpoint " + endpoint + " again failed: " + e);
                }

                @Override
                public void onCompleted() { }
              });
        } else if (keepAliveFailures.incrementAndGet() <= 3) {
          System.err.println("keep-alive failed: " + t);
        }
      }

      @Override
      public void onCompleted() { }
    };
  }

  private static void awaitHealthy(int admin) throws Exception {
    HttpClient http = HttpClient.newHttpClient();
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
    while (System.nanoTime() < deadline) {
      try {
        if (http.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + admin + "/healthz")).build(),
            HttpResponse.BodyHandlers.ofString()).statusCode() == 200) {
          return;
        }
      } catch (IOException e) {
        // not yet listening
      }
      Thread.sleep(200);
    }
    throw new IllegalStateException("protomatch did not become healthy within 60 s");
  }

  private static void awaitListening(int port) throws Exception {
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
    while (true) {
      try (java.net.Socket socket = new java.net.Socket("127.0.0.1", port)) {
        return;
      } catch (IOException e) {
        if (System.nanoTime() > deadline) {
          throw new IllegalStateException("nothing listens on 127.0.0.1:" + port + " after 60 s");
        }
        Thread.sleep(100);
      }
    }
  }

  /** Sum and count of protomatch_snapshot_build_seconds from /metrics. */
  private static double[] buildSeconds(int admin) {
    try {
      String text = HttpClient.newHttpClient().send(HttpRequest.newBuilder(
          URI.create("http://127.0.0.1:" + admin + "/metrics")).build(), HttpResponse.BodyHandlers.ofString()).body();
      double sum = Double.NaN;
      double count = Double.NaN;
      for (String line : text.split("\n")) {
        if (line.startsWith("protomatch_snapshot_build_seconds_sum")) {
          sum = Double.parseDouble(line.substring(line.lastIndexOf(' ') + 1));
        } else if (line.startsWith("protomatch_snapshot_build_seconds_count")) {
          count = Double.parseDouble(line.substring(line.lastIndexOf(' ') + 1));
        }
      }
      return new double[] {sum, count};
    } catch (IOException | InterruptedException e) {
      return new double[] {Double.NaN, Double.NaN};
    }
  }

  // ---------------------------------------------------------------- bare

  private Result runBare() throws Exception {
    Map<String, Double> v = new LinkedHashMap<>();
    log("bare java-control-plane: starting (log: " + out.resolve("bare.log") + ")");
    try (ChildProcess bare = ChildProcess.start("bare", jvm("cp-jvm", "bare"), BareControlPlane.class.getName(),
        List.of("--endpoints", "" + fleet.endpoints(), "--services", "" + fleet.services(), "--builds",
            "" + fleet.builds(), "--port", "" + fleet.port()), out.resolve("bare.log"))) {
      int xds = Integer.parseInt(bare.expect("LISTENING", 120).split(" ")[1]);
      try (ChildProcess lg = startLoadGenerator(xds)) {
        awaitReady(lg);
        List<Double> prepared = new ArrayList<>();
        measure(bare, lg, v, new Change() {
          @Override
          public void prepare(int j, boolean add, int service, String host) throws InterruptedException {
            String line = bare.ask("PREPARE " + (add ? "add" : "remove") + " " + service + " " + (fleet.builds() - 1)
                + " " + host, "PREPARED", 60);
            prepared.add(Double.parseDouble(line.split(" ")[1]));
          }

          @Override
          public void make(int j, boolean add, int service, String host) throws InterruptedException {
            bare.ask("APPLY", "APPLIED", 60);
          }
        }, -1);
        v.put("snapshot build ms (mean)", prepared.stream().mapToDouble(Double::doubleValue).average().orElse(Double.NaN));
        return finish("bare java-control-plane", bare, lg, v);
      }
    }
  }

  // ---------------------------------------------------------------- common

  @FunctionalInterface
  interface Change {
    default void prepare(int j, boolean add, int service, String host) throws Exception { }

    void make(int j, boolean add, int service, String host) throws Exception;
  }

  private List<Double> all;
  private List<Double> sotw;
  private List<Double> delta;

  private void measure(ChildProcess cp, ChildProcess lg, Map<String, Double> v, Change change,
                       int admin) throws Exception {
    int settle = num("settle-seconds", 10);
    log("settling for " + settle + " s (probes of new endpoints, JIT), then steady state for " + steadySeconds + " s");
    Thread.sleep(settle * 1000L);
    long bytes0 = bytes(lg);
    double cpu0 = cp.cpuSeconds();
    double lgCpu0 = lg.cpuSeconds();
    long t0 = System.nanoTime();
    Thread.sleep(steadySeconds * 1000L);
    double steadyElapsed = (System.nanoTime() - t0) / 1e9;
    log("steady state over");
    double steadyCpu = (cp.cpuSeconds() - cpu0) / steadyElapsed;
    double steadyBytes = (bytes(lg) - bytes0) / steadyElapsed;
    v.put("steady CPU % of a core", steadyCpu * 100);
    v.put("steady bytes/s to clients", steadyBytes);
    v.put("load generator steady CPU %", (lg.cpuSeconds() - lgCpu0) / steadyElapsed * 100);

    int warmup = num("warmup-changes", 10);
    log(warmup + " warm-up changes (not counted), then " + changes + " changes");
    runChanges(lg, change, 1_000_000, warmup, cp, new List[] {new ArrayList<>(), new ArrayList<>(), new ArrayList<>()});
    log(changes + " changes");
    all = new ArrayList<>();
    sotw = new ArrayList<>();
    delta = new ArrayList<>();
    double[] build0 = admin > 0 ? buildSeconds(admin) : null;
    long bytes1 = bytes(lg);
    double cpu1 = cp.cpuSeconds();
    long t1 = System.nanoTime();
    double[] counts = runChanges(lg, change, 0, changes, cp, new List[] {all, sotw, delta});
    int incomplete = (int) counts[0];
    double prepareCpu = counts[1];
    double changeElapsed = (System.nanoTime() - t1) / 1e9;
    log("changes over");
    double changeCpu = cp.cpuSeconds() - cpu1 - prepareCpu - steadyCpu * changeElapsed;
    v.put("CPU ms per change", Math.max(0, changeCpu) * 1000 / changes);
    v.put("bytes to clients per change", (bytes(lg) - bytes1 - steadyBytes * changeElapsed) / changes);
    v.put("streams that missed a change", (double) incomplete);
    if (build0 != null) {
      double[] build1 = buildSeconds(admin);
      v.put("snapshot build ms (mean)", (build1[0] - build0[0]) / Math.max(1, build1[1] - build0[1]) * 1000);
      v.put("snapshot builds per change", (build1[1] - build0[1]) / changes);
    }
  }

  /**
   * Makes {@code count} changes numbered from {@code first}; adds each stream's convergence to {@code samples}
   * (all, SotW, delta). Returns the streams that missed a change and the CPU the control plane spent preparing
   * changes ahead of time (bare only), in seconds.
   */
  @SuppressWarnings("unchecked")
  private double[] runChanges(ChildProcess lg, Change change, int first, int count, ChildProcess cp,
                              List[] samples) throws Exception {
    int incomplete = 0;
    double prepareCpu = 0;
    for (int j = first; j < first + count; j++) {
      int m = j / 2;
      boolean add = j % 2 == 0;
      int service = (int) ((m * 7919L) % fleet.services());
      String host = Fleet.markerHost(m % 65536);
      double before = cp.cpuSeconds();
      change.prepare(j, add, service, host);
      prepareCpu += cp.cpuSeconds() - before;
      lg.ask("ARM " + j + " " + (add ? "add" : "remove") + " " + service + " " + host, "ARMED " + j, 30);
      long start = LoadGenerator.nowMicros();
      change.make(j, add, service, host);
      String[] result = lg.ask("WAIT " + j + " 30000", "RESULT " + j + " ", 60).split(" ");
      int done = Integer.parseInt(result[2]);
      int affected = Integer.parseInt(result[3]);
      incomplete += affected - done;
      if (result.length > 4) {
        for (String sample : result[4].split(",")) {
          if (sample.isEmpty()) {
            continue;
          }
          String kind = sample.substring(0, 2);
          double ms = (Long.parseLong(sample.substring(3)) - start) / 1000.0;
          samples[0].add(ms);
          samples[kind.charAt(1) == 'd' ? 2 : 1].add(ms);
        }
      }
      Thread.sleep(250);
    }
    return new double[] {incomplete, prepareCpu};
  }

  private Result finish(String name, ChildProcess cp, ChildProcess lg, Map<String, Double> v) {
    v.put("heap after GC MiB", cp.heapAfterGcMiB());
    return new Result(name, v, all, sotw, delta);
  }

  private ChildProcess startLoadGenerator(int xds) throws Exception {
    ChildProcess lg = ChildProcess.start("load-generator", jvm("lg-jvm", null), LoadGenerator.class.getName(),
        List.of("--xds-port", "" + xds, "--streams", "" + streams, "--envoy", "" + envoy, "--watch",
            "" + num("watch", 5), "--services", "" + fleet.services(), "--delta-every", "" + num("delta-every", 2),
            "--streams-per-channel", "" + num("streams-per-channel", 50)), out.resolve("load-generator.log"));
    lg.expect("STARTED", 120);
    return lg;
  }

  /** Until every stream holds its resources and an Envoy-style stream holds the whole fleet. */
  private void awaitReady(ChildProcess lg) throws Exception {
    long start = System.nanoTime();
    long deadline = start + TimeUnit.SECONDS.toNanos(num("ready-timeout", 300));
    String status = "";
    while (System.nanoTime() < deadline) {
      status = lg.ask("STATUS", "STATUS", 30);
      Map<String, Long> s = new LinkedHashMap<>();
      for (String field : status.substring(7).split(" ")) {
        String[] kv = field.split("=");
        s.put(kv[0], Long.parseLong(kv[1]));
      }
      if (s.get("ready").equals(s.get("of")) && (envoy == 0 || s.get("envoyEndpoints") == fleet.assignedEndpoints())) {
        log(String.format(Locale.ROOT, "all %d streams hold their resources after %.1f s (%s)", streams,
            (System.nanoTime() - start) / 1e9, status));
        return;
      }
      Thread.sleep(500);
    }
    throw new IllegalStateException("streams not ready: " + status);
  }

  private static long bytes(ChildProcess lg) throws InterruptedException {
    return Long.parseLong(lg.ask("BYTES", "BYTES", 30).split(" ")[1]);
  }

  // ---------------------------------------------------------------- report

  private Run print(List<Result> results) throws IOException {
    List<String> rows = new ArrayList<>();
    Map<String, double[]> table = new LinkedHashMap<>();
    for (int r = 0; r < results.size(); r++) {
      Result result = results.get(r);
      put(table, "convergence p50 ms (all)", r, results.size(), pct(result.all(), 50));
      put(table, "convergence p99 ms (all)", r, results.size(), pct(result.all(), 99));
      put(table, "convergence max ms (all)", r, results.size(), pct(result.all(), 100));
      put(table, "convergence p50 ms (SotW)", r, results.size(), pct(result.sotw(), 50));
      put(table, "convergence p99 ms (SotW)", r, results.size(), pct(result.sotw(), 99));
      put(table, "convergence p50 ms (delta)", r, results.size(), pct(result.delta(), 50));
      put(table, "convergence p99 ms (delta)", r, results.size(), pct(result.delta(), 99));
      put(table, "samples", r, results.size(), result.all().size());
      for (Map.Entry<String, Double> e : result.values().entrySet()) {
        put(table, e.getKey(), r, results.size(), e.getValue());
      }
    }
    int bare = results.size() >= 2 && results.get(results.size() - 1).name().startsWith("bare")
        ? results.size() - 1 : -1;
    StringBuilder text = new StringBuilder();
    text.append(String.format(Locale.ROOT, "scale: endpoints=%d services=%d builds=%d streams=%d (envoy-style %d,"
            + " proxyless %d watching %d; every %s of each kind delta) changes=%d ttl=%ds%n", fleet.endpoints(),
        fleet.services(), fleet.builds(), streams, envoy, streams - envoy, num("watch", 5),
        ordinal(num("delta-every", 2)), changes, ttl));
    text.append(String.format(Locale.ROOT, "%-34s", "")).append(results.stream()
        .map(r -> String.format(Locale.ROOT, "%18s", r.name().startsWith("bare") ? "bare jcp" : r.name()))
        .reduce("", String::concat)).append(bare > 0 ? String.format("%8s", "ratio") : "").append('\n');
    for (Map.Entry<String, double[]> row : table.entrySet()) {
      double[] values = row.getValue();
      text.append(String.format(Locale.ROOT, "%-34s", row.getKey()));
      for (double value : values) {
        text.append(String.format(Locale.ROOT, "%18s", fmt(value)));
      }
      if (bare > 0) {
        text.append(String.format(Locale.ROOT, "%8s", Double.isNaN(values[0]) || Double.isNaN(values[bare])
            || values[bare] == 0 ? "" : String.format(Locale.ROOT, "%.2fx", values[0] / values[bare])));
      }
      text.append('\n');
      for (int r = 0; r < values.length; r++) {
        rows.add(String.join(",", String.valueOf(fleet.endpoints()), String.valueOf(fleet.services()),
            String.valueOf(streams), String.valueOf(envoy), results.get(r).name(), row.getKey(), fmt(values[r])));
      }
    }
    System.out.print(text);
    Path csv = Path.of(args.getOrDefault("csv", out.resolve("scale.csv").toString()));
    if (!Files.exists(csv)) {
      Files.writeString(csv, "endpoints,services,streams,envoy_streams,control_plane,metric,value\n");
    }
    Files.write(csv, rows, StandardOpenOption.APPEND);
    Files.writeString(out.resolve("table.txt"), text);
    return new Run(streams, results, table, text.toString());
  }

  private static String ordinal(int n) {
    return n == 2 ? "2nd" : n + "th";
  }

  private static void put(Map<String, double[]> table, String key, int index, int size, double value) {
    table.computeIfAbsent(key, k -> {
      double[] a = new double[size];
      Arrays.fill(a, Double.NaN);
      return a;
    })[index] = value;
  }

  private static String fmt(double value) {
    if (Double.isNaN(value)) {
      return "-";
    }
    return Math.abs(value) >= 1000 ? String.format(Locale.ROOT, "%.0f", value)
        : String.format(Locale.ROOT, "%.1f", value);
  }

  private static double pct(List<Double> samples, int percentile) {
    if (samples.isEmpty()) {
      return Double.NaN;
    }
    List<Double> sorted = new ArrayList<>(samples);
    sorted.sort(null);
    return sorted.get(Math.max(0, Math.min(sorted.size() - 1, (int) Math.ceil(percentile / 100.0 * sorted.size()) - 1)));
  }

  private static int freePort() throws IOException {
    try (ServerSocket socket = new ServerSocket(0)) {
      return socket.getLocalPort();
    }
  }

  private static void log(String message) {
    System.err.println("[scale " + java.time.Instant.now() + "] " + message);
  }
}
