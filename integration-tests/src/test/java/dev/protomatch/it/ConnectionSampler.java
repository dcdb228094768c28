package dev.protomatch.it;

import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Set;

/**
 * Samples, at a fixed period on its own thread, the established TCP connections each client process holds
 * to the greeters ({@link TcpConnections}), and keeps per client the largest and mean count and the most
 * connections to any one greeter at once (the factor by which per-cluster subchannels multiply them).
 */
final class ConnectionSampler implements AutoCloseable {
  /** One client's figures over the sampled period. */
  record Figures(int samples, int maxConnections, double meanConnections, int maxToOneGreeter) {
    @Override
    public String toString() {
      return String.format("TCP connections to greeters: max %d, mean %.1f, max to one greeter %d (%d samples)",
          maxConnections, meanConnections, maxToOneGreeter, samples);
    }
  }

  private static final class Tally {
    int samples;
    int max;
    long sum;
    int maxToOne;
  }

  private final Map<String, Long> pids;
  private final Set<Integer> greeterPorts;
  private final Duration period;
  /** Written by the sampling thread, read after it stopped (join) or under the lock: guarded by itself. */
  private final Map<String, Tally> tallies = new LinkedHashMap<>();
  private final Thread thread;
  private volatile boolean running = true;

  /** @param greeterPorts ports of every greeter started so far (concurrently updated by the caller) */
  ConnectionSampler(Map<String, Long> pids, Set<Integer> greeterPorts, Duration period) {
    this.pids = Map.copyOf(pids);
    this.greeterPorts = greeterPorts;
    this.period = period;
    pids.keySet().forEach(client -> tallies.put(client, new Tally()));
    this.thread = new Thread(this::run, "connection-sampler");
    thread.setDaemon(true);
    thread.start();
  }

  private void run() {
    while (running) {
      Set<Integer> ports = Set.copyOf(greeterPorts);
      pids.forEach((client, pid) -> {
        Map<Integer, Integer> byPort = TcpConnections.established(pid, ports);
        int total = byPort.values().stream().mapToInt(Integer::intValue).sum();
        synchronized (tallies) {
          Tally tally = tallies.get(client);
          tally.samples++;
          tally.max = Math.max(tally.max, total);
          tally.sum += total;
          tally.maxToOne = Math.max(tally.maxToOne, byPort.values().stream().mapToInt(Integer::intValue).max().orElse(0));
        }
      });
      try {
        Thread.sleep(period.toMillis());
      } catch (InterruptedException e) {
        return;
      }
    }
  }

  Figures figures(String client) {
    synchronized (tallies) {
      Tally tally = tallies.get(client);
      return new Figures(tally.samples, tally.max, tally.samples == 0 ? 0 : (double) tally.sum / tally.samples,
          tally.maxToOne);
    }
  }

  @Override
  public void close() throws InterruptedException {
    running = false;
    thread.interrupt();
    thread.join(5_000);
  }
}
