package dev.protomatch.it;

import dev.protomatch.demo.ProtomatchProcess;
import java.io.IOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;

/**
 * Chaos on a {@link Fleet}: demo.Greeter processes of builds v1, v2, v2x and v3 (at most one live process per
 * build) started, killed with SIGKILL and restarted in an order drawn from a seeded {@link Random}, with a
 * rollback (v3 killed, v1 and v2 killed if live and started again, so the older builds appear after the
 * newer one) and a restart of the control plane (which forgets every first-seen time) at random points.
 * Every event is logged with its time, so a run can be read back. Used by one
 * thread, except {@link #greeterPorts()}, which a sampler reads concurrently. Processes stay live between
 * runs; the fleet's close kills them.
 */
final class GreeterChaos {
  static final List<String> BUILDS = List.of("v1", "v2", "v2x", "v3");
  private static final Duration MIN_DWELL = Duration.ofMillis(500);
  private static final Duration MAX_DWELL = Duration.ofMillis(2_000);

  private final Fleet fleet;
  private Random random;
  private long origin = System.nanoTime();
  private final Map<String, ProtomatchProcess> live = new TreeMap<>();
  private final Map<String, Integer> generations = new HashMap<>();
  private final Set<Integer> ports = ConcurrentHashMap.newKeySet();
  private final List<String> events = new ArrayList<>();
  private int starts;
  private int kills;

  GreeterChaos(Fleet fleet, long seed) {
    this.fleet = fleet;
    reseed(seed);
  }

  /** From now on, draw every choice from a source seeded with {@code seed}. */
  void reseed(long seed) {
    this.random = new Random(seed);
  }

  /** Starts every build that has no live process, in random order with random gaps: then all four are live. */
  void startMissingInRandomOrder() throws IOException, InterruptedException {
    List<String> order = new ArrayList<>(BUILDS);
    order.removeAll(live.keySet());
    Collections.shuffle(order, random);
    for (String build : order) {
      start(build);
      Thread.sleep(random.nextInt(500));
    }
  }

  /**
   * Random events separated by random dwells until {@code duration} has passed, with the rollback and the
   * control plane restart (in random order) after a random number of them, even if that is later. Which
   * events happen, and the dwells, follow from the seed and the processes live at the start; the clock only
   * decides when to stop.
   */
  void run(Duration duration) throws Exception {
    long end = System.nanoTime() + duration.toNanos();
    boolean rollbackFirst = random.nextBoolean();
    int firstAt = random.nextInt(2);
    int secondAt = firstAt + 2 + random.nextInt(2);
    for (int step = 0; step <= secondAt || System.nanoTime() < end; step++) {
      if (step == firstAt) {
        required(rollbackFirst);
      } else if (step == secondAt) {
        required(!rollbackFirst);
      } else {
        randomEvent();
      }
      long dwell = MIN_DWELL.toMillis() + random.nextInt((int) (MAX_DWELL.toMillis() - MIN_DWELL.toMillis()));
      long left = (end - System.nanoTime()) / 1_000_000;
      Thread.sleep(step < secondAt ? dwell : Math.max(0, Math.min(dwell, left)));
    }
  }

  private void required(boolean rollback) throws Exception {
    if (rollback) {
      rollback();
    } else {
      restartControlPlane();
    }
  }

  /** Start a dead build, kill a live one, or kill one and start it again at once. At least one stays live. */
  private void randomEvent() throws IOException, InterruptedException {
    List<String> alive = new ArrayList<>(live.keySet());
    List<String> dead = new ArrayList<>(BUILDS);
    dead.removeAll(alive);
    int kind = random.nextInt(3);
    if (alive.size() <= 1 || (kind == 0 && !dead.isEmpty())) {
      start(pick(dead));
    } else if (kind == 1) {
      kill(pick(alive));
    } else {
      String build = pick(alive);
      kill(build);
      start(build);
    }
  }

  /** v3 is rolled back: its process killed; v1 and v2 (re)started after it. */
  private void rollback() throws IOException, InterruptedException {
    log("rollback begins");
    if (!live.containsKey("v3")) {
      start("v3");
      Thread.sleep(1_500);
    }
    kill("v3");
    List<String> older = new ArrayList<>(List.of("v1", "v2"));
    Collections.shuffle(older, random);
    for (String build : older) {
      if (live.containsKey(build)) {
        kill(build);
      }
    }
    for (String build : older) {
      start(build);
    }
    log("rollback done");
  }

  private void restartControlPlane() throws Exception {
    log("protomatch stops");
    fleet.stopControlPlane();
    Thread.sleep(200 + random.nextInt(800));
    fleet.restartControlPlane();
    log("protomatch started again (empty registry, warm-up of one lease TTL before its first push)");
  }

  private void start(String build) throws IOException {
    int generation = generations.merge(build, 1, Integer::sum);
    ProtomatchProcess process = null;
    for (int attempt = 1; process == null; attempt++) {
      int port = unusedPort();
      ports.add(port);
      try {
        process = fleet.startGreeter(build, build + "-" + generation, port);
      } catch (IOException e) {
        if (attempt == 3) {
          throw e; // the port was taken between choosing and binding it, three times over
        }
      }
    }
    live.put(build, process);
    starts++;
    log("started " + build + "-" + generation + " on 127.0.0.1:" + process.port());
  }

  /**
   * A free loopback port no greeter of this run has had: a client's stale assignment (the lease of a killed
   * process outlives it) must not lead to another build that happens to get the same port, a hazard of real
   * fleets but not the one under test.
   */
  private int unusedPort() throws IOException {
    while (true) {
      try (ServerSocket socket = new ServerSocket(0, 1, InetAddress.getByName("127.0.0.1"))) {
        if (!ports.contains(socket.getLocalPort())) {
          return socket.getLocalPort();
        }
      }
    }
  }

  private void kill(String build) {
    ProtomatchProcess process = live.remove(build);
    process.killForcibly();
    kills++;
    log("kill -9 " + build + "-" + generations.get(build) + " (127.0.0.1:" + process.port() + ")");
  }

  private String pick(List<String> builds) {
    return builds.get(random.nextInt(builds.size()));
  }

  private void log(String event) {
    String line = String.format("+%5.1fs %s", (System.nanoTime() - origin) / 1e9, event);
    events.add(line);
    System.out.println("[chaos] " + line);
  }

  /** Ports of every greeter started so far (safe to read from any thread). */
  Set<Integer> greeterPorts() {
    return ports;
  }

  /** What happened since the last call (or since this was created); event times count from then. */
  record Summary(List<String> events, int starts, int kills) {}

  Summary takeSummary() {
    Summary summary = new Summary(List.copyOf(events), starts, kills);
    events.clear();
    starts = 0;
    kills = 0;
    origin = System.nanoTime();
    return summary;
  }
}
