package dev.protomatch.probe;

import dev.protomatch.util.Listeners;
import dev.protomatch.descriptor.DescriptorHasher;
import dev.protomatch.descriptor.DescriptorSetFingerprint;
import dev.protomatch.descriptor.InvalidDescriptorException;
import dev.protomatch.descriptor.ServiceFingerprint;
import dev.protomatch.policy.Settings;
import dev.protomatch.registry.EndpointAddress;
import dev.protomatch.registry.EndpointRegistry;
import dev.protomatch.registry.EndpointState;
import dev.protomatch.registry.ProbeState;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.SortedMap;
import java.util.TreeMap;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Consumer;
import java.util.function.Supplier;
import java.util.Optional;
import java.util.function.Function;
import dev.protomatch.policy.DataPlanePolicy;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Asks every endpoint's reflection what it serves and records the answer in the registry.
 *
 * <p>Probes run on a fixed pool of {@code settings.probe.concurrency} threads, each bounded by
 * {@code settings.probe.timeout}, so one hanging or lying endpoint costs one thread for one timeout and
 * never delays the others. An endpoint is probed when first seen, then every {@code interval}; after
 * {@code n} consecutive failures it waits {@code min(max-backoff, base * 2^(n-1))}, the base being the interval
 * after an answer and one second after a timeout or a refused connection ({@link #backoff}). Due-ness is computed
 * from the injected clock, so tests drive probing with {@link #probeDue()} and a test clock.
 */
public final class ReflectionProber implements AutoCloseable {
  private static final Logger log = LoggerFactory.getLogger(ReflectionProber.class);
  /** The first wait after a probe that timed out or could not connect. */
  static final Duration TRANSIENT_RETRY = Duration.ofSeconds(1);

  private final EndpointRegistry registry;
  private final DescriptorHasher hasher;
  private final Supplier<Settings.Probe> settings;
  private final Function<EndpointState, Optional<DataPlanePolicy.UpstreamTls>> tls;
  private final Clock clock;
  private final ProbeChannels channels;
  private final ExecutorService pool;
  private final Set<EndpointAddress> inFlight = ConcurrentHashMap.newKeySet();
  private final AtomicBoolean scanQueued = new AtomicBoolean();
  private final Listeners<ProbeCompleted> listeners = new Listeners<>("probe completed");
  private volatile ScheduledFuture<?> ticking;

  /** Probes every endpoint in plaintext. */
  public ReflectionProber(EndpointRegistry registry, DescriptorHasher hasher,
                          Supplier<Settings.Probe> settings, Clock clock) {
    this(registry, hasher, settings, endpoint -> Optional.empty(), clock);
  }

  /**
   * @param tls the TLS an endpoint serves (its services' {@code upstream-tls}), empty for plaintext
   */
  public ReflectionProber(EndpointRegistry registry, DescriptorHasher hasher, Supplier<Settings.Probe> settings,
                          Function<EndpointState, Optional<DataPlanePolicy.UpstreamTls>> tls, Clock clock) {
    this.tls = tls;
    this.registry = registry;
    this.hasher = hasher;
    this.settings = settings;
    this.clock = clock;
    this.channels = new ProbeChannels(Duration.ofMinutes(5));
    AtomicInteger threads = new AtomicInteger();
    this.pool = Executors.newFixedThreadPool(settings.get().concurrency(), runnable -> {
      Thread thread = new Thread(runnable, "protomatch-probe-" + threads.incrementAndGet());
      thread.setDaemon(true);
      return thread;
    });
  }

  /**
   * One finished probe.
   *
   * @param outcome {@link ProbeState.Probed} or {@link ProbeState.Failed} (with the failure's kind)
   * @param duration wall time from starting the probe to having its answer checked
   */
  public record ProbeCompleted(EndpointAddress address, ProbeState outcome, Duration duration) {}

  /** Called after each probe, on the probing thread, whether or not the registry kept the outcome. */
  public void addListener(Consumer<ProbeCompleted> listener) {
    listeners.add(listener);
  }

  /**
   * Checks for due endpoints every {@code tick}, and soon after the registry changes so new endpoints are
   * probed at once. Changes arriving while a scan is queued share it: a storm of keep-alives costs one scan.
   * A scan after a change looks only for endpoints never probed (a registration, a re-registration as another
   * build); the tick finds the rest (every endpoint's due time) within {@code tick}.
   */
  public void start(ScheduledExecutorService scheduler, Duration tick) {
    start(scheduler, tick, () -> true);
  }

  /**
   * Like {@link #start(ScheduledExecutorService, Duration)}, but each tick probes only while {@code probing} says
   * so (the replica holding the probe job, when replicas share probe results).
   */
  public void start(ScheduledExecutorService scheduler, Duration tick, java.util.function.BooleanSupplier probing) {
    ticking = scheduler.scheduleWithFixedDelay(() -> {
      if (probing.getAsBoolean()) {
        probeQuietly(false);
      }
    }, 0, tick.toMillis(), TimeUnit.MILLISECONDS);
    registry.addListener(() -> {
      if (scanQueued.compareAndSet(false, true)) {
        scheduler.execute(() -> {
          scanQueued.set(false);
          if (probing.getAsBoolean()) {
            probeQuietly(true);
          }
        });
      }
    });
  }

  /** Starts a probe of every due endpoint not already being probed; completes when those probes finish. */
  public CompletableFuture<Void> probeDue() {
    return probe(false);
  }

  /** Starts a probe of every endpoint never probed and not being probed; completes when those probes finish. */
  public CompletableFuture<Void> probeNew() {
    return probe(true);
  }

  private CompletableFuture<Void> probe(boolean newOnly) {
    Instant now = clock.instant();
    Settings.Probe probe = settings.get();
    List<CompletableFuture<Void>> started = new ArrayList<>();
    for (EndpointState endpoint : registry.state().endpoints().values()) {
      if (newOnly && !(endpoint.probe() instanceof ProbeState.NotProbed)) {
        continue;
      }
      if (!endpoint.leaseExpired(now) && isDue(endpoint.probe(), now, probe) && inFlight.add(endpoint.address())) {
        started.add(CompletableFuture.runAsync(() -> {
          try {
            long startedAt = System.nanoTime();
            ProbeState outcome = probe(endpoint, probe.timeout());
            ProbeCompleted completed = new ProbeCompleted(endpoint.address(), outcome,
                Duration.ofNanos(System.nanoTime() - startedAt));
            registry.recordProbe(endpoint.address(), endpoint.generation(), outcome);
            listeners.announce(completed);
          } finally {
            inFlight.remove(endpoint.address());
          }
        }, pool));
      }
    }
    return CompletableFuture.allOf(started.toArray(CompletableFuture[]::new));
  }

  static boolean isDue(ProbeState state, Instant now, Settings.Probe probe) {
    if (state instanceof ProbeState.Probed probed) {
      return !now.isBefore(probed.at().plus(probe.interval()));
    }
    if (state instanceof ProbeState.Failed failed) {
      return !now.isBefore(failed.at().plus(backoff(failed.kind(), failed.consecutiveFailures(), probe)));
    }
    return true;
  }

  /**
   * The wait after {@code consecutiveFailures} failures, the last of {@code kind}: {@code min(max-backoff,
   * base * 2^(n-1))}, where the base is the interval after an answer (no reflection, a bad answer), and
   * {@link #TRANSIENT_RETRY} (at most the interval) after a timeout or no connection, which a starting
   * process or a loaded machine causes, so a fresh endpoint is not kept out for a whole interval by one.
   */
  static Duration backoff(ReflectionException.Kind kind, int consecutiveFailures, Settings.Probe probe) {
    boolean transientFailure = kind == ReflectionException.Kind.TIMEOUT || kind == ReflectionException.Kind.UNAVAILABLE;
    Duration base = transientFailure && TRANSIENT_RETRY.compareTo(probe.interval()) < 0 ? TRANSIENT_RETRY
        : probe.interval();
    int doublings = Math.min(Math.max(consecutiveFailures - 1, 0), 20);
    Duration wait = base.multipliedBy(1L << doublings);
    return wait.compareTo(probe.maxBackoff()) > 0 ? probe.maxBackoff() : wait;
  }

  private ProbeState probe(EndpointState endpoint, Duration timeout) {
    String where = endpoint.address().toString();
    int failures = endpoint.probe() instanceof ProbeState.Failed failed ? failed.consecutiveFailures() : 0;
    try {
      io.grpc.ManagedChannel channel;
      try {
        channel = channels.channel(endpoint.address(), tls.apply(endpoint));
      } catch (java.io.UncheckedIOException e) {
        return failed(endpoint, ReflectionException.Kind.UNAVAILABLE, where + ": " + e.getMessage(), failures);
      }
      ReflectionResult answer = new ReflectionClient(timeout).fetch(channel, where);
      DescriptorSetFingerprint files = hasher.fingerprint(answer.files(), where + " reflection answer");
      SortedMap<String, ServiceFingerprint> services = new TreeMap<>();
      for (String service : answer.services()) {
        if (service.startsWith("grpc.reflection.")) {
          continue;
        }
        ServiceFingerprint fingerprint = files.services().get(service);
        if (fingerprint == null) {
          return failed(endpoint, ReflectionException.Kind.BAD_ANSWER,
              where + ": reflection lists " + service + " but its files do not define it", failures);
        }
        services.put(service, fingerprint);
      }
      if (failures > 0) {
        log.info("probe of {} succeeded again after {} failure(s)", where, failures);
      }
      return new ProbeState.Probed(clock.instant(), answer.protocol(), services);
    } catch (ReflectionException e) {
      return failed(endpoint, e.kind(), e.getMessage(), failures);
    } catch (InvalidDescriptorException e) {
      return failed(endpoint, ReflectionException.Kind.BAD_ANSWER, e.getMessage(), failures);
    }
  }

  private ProbeState failed(EndpointState endpoint, ReflectionException.Kind kind, String message, int failures) {
    if (failures == 0) {
      log.warn("probe of {} failed: {}", endpoint.address(), message);
    }
    return new ProbeState.Failed(clock.instant(), kind, message, failures + 1);
  }

  private void probeQuietly(boolean newOnly) {
    try {
      probe(newOnly);
    } catch (RuntimeException e) {
      log.error("probe scheduling failed", e);
    }
  }

  @Override
  public void close() {
    if (ticking != null) {
      ticking.cancel(false);
    }
    pool.shutdownNow();
    channels.close();
  }
}
