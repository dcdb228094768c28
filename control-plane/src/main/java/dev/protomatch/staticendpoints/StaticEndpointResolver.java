package dev.protomatch.staticendpoints;

import dev.protomatch.policy.HostPort;
import dev.protomatch.policy.ServicePolicy;
import dev.protomatch.registry.EndpointAddress;
import dev.protomatch.registry.EndpointRegistry;
import dev.protomatch.registry.IpLiterals;
import java.net.InetAddress;
import java.net.UnknownHostException;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.SortedSet;
import java.util.TreeSet;
import java.util.concurrent.Executors;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import java.util.stream.Collectors;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Puts the policy's {@code static-endpoints} into the registry as IP addresses only, since only IP
 * addresses may reach EDS (proxyless gRPC clients reject an assignment holding a host name). Like
 * Envoy's {@code STRICT_DNS} clusters:
 * <ul>
 *   <li>an IP literal is used as it is (in {@linkplain IpLiterals canonical form}), never looked up;
 *   <li>a host name is resolved, and every address it resolves to becomes an endpoint of its own (with
 *       the entry's port), probed on its own like any other endpoint;
 *   <li>each name is resolved again every {@code interval} (from the injected clock), and the endpoints
 *       follow what it resolves to: addresses that are gone leave, new ones join;
 *   <li>a failed resolution changes nothing: the addresses of the last successful one stay (none if it
 *       never resolved). It is logged as one WARN line naming the policy entry and the host, and the
 *       same failure is not logged again on every attempt; a recovery and every change of addresses is
 *       one INFO line.
 * </ul>
 * A name used by several entries (other ports or services) is resolved once per interval. Addresses
 * several entries lead to are one endpoint serving all their services, as for literals.
 *
 * <p>Lookups may block, so they run on this resolver's own daemon thread, never on the control plane's
 * shared scheduler: a slow DNS server cannot delay probes or decisions. Tests drive it with
 * {@link #apply} and {@link #resolveDue()} and a test clock instead.
 */
public final class StaticEndpointResolver implements AutoCloseable {
  private static final Logger log = LoggerFactory.getLogger(StaticEndpointResolver.class);

  /** How often a host name is resolved again (the JDK caches a lookup for 30 s by default, too). */
  public static final Duration INTERVAL = Duration.ofSeconds(30);

  /** How often the resolver thread checks which names are due. */
  private static final Duration TICK = Duration.ofSeconds(1);

  private final EndpointRegistry registry;
  private final HostResolver resolver;
  private final Clock clock;
  private final Duration interval;
  private final ScheduledExecutorService thread;
  private volatile ScheduledFuture<?> ticking;

  // Confined to the resolver thread once start() returned (before, to start()'s caller; tests use one thread).
  private List<Entry> entries = List.of();
  private final Map<String, Name> names = new HashMap<>();
  private Map<EndpointAddress, Set<String>> published;

  /** One line of a service's {@code static-endpoints}, and where it is in the policy file. */
  private record Entry(String path, String service, HostPort declared, Optional<String> literal) {
    @Override
    public String toString() {
      return path + " '" + declared + "' (" + service + ")";
    }
  }

  /** What is known about one host name. */
  private static final class Name {
    /** Canonical IP literals from the last successful resolution; empty before the first. */
    SortedSet<String> addresses = new TreeSet<>();
    Instant due = Instant.MIN;
    boolean resolved;
    /** The failure last logged, while resolutions keep failing; null after a success. */
    String failure;
  }

  /**
   * @param interval time between two resolutions of one host name, {@link #INTERVAL} in production
   */
  public StaticEndpointResolver(EndpointRegistry registry, HostResolver resolver, Clock clock, Duration interval) {
    if (interval.isNegative() || interval.isZero()) {
      throw new IllegalArgumentException("resolve interval must be positive, got " + interval);
    }
    this.registry = registry;
    this.resolver = resolver;
    this.clock = clock;
    this.interval = interval;
    this.thread = Executors.newSingleThreadScheduledExecutor(runnable -> {
      Thread t = new Thread(runnable, "protomatch-static-resolver");
      t.setDaemon(true);
      return t;
    });
  }

  /**
   * Puts the literal addresses of {@code services} into the registry now (host names are not looked up
   * on the caller's thread), then resolves host names at once and every interval on the resolver thread.
   */
  public void start(List<ServicePolicy> services) {
    apply(services);
    ticking = thread.scheduleWithFixedDelay(this::resolveDueSafely, 0, TICK.toMillis(), TimeUnit.MILLISECONDS);
  }

  /**
   * A new policy: applied on the resolver thread, right after any lookup in progress. Host names it adds
   * are resolved at once; names it keeps keep their addresses and schedule.
   */
  public void policyChanged(List<ServicePolicy> services) {
    try {
      thread.execute(() -> {
        try {
          apply(services);
          resolveDue();
        } catch (RuntimeException e) {
          log.error("applying static endpoints failed", e); // a bug: keep the thread alive
        }
      });
    } catch (RejectedExecutionException e) {
      // closed: the control plane is shutting down
    }
  }

  /** Takes {@code services}' static endpoints and publishes what is known of them, without looking anything up. */
  void apply(List<ServicePolicy> services) {
    List<Entry> next = new ArrayList<>();
    for (int i = 0; i < services.size(); i++) {
      ServicePolicy service = services.get(i);
      for (int j = 0; j < service.staticEndpoints().size(); j++) {
        HostPort declared = service.staticEndpoints().get(j);
        next.add(new Entry("services[" + i + "].static-endpoints[" + j + "]", service.service(), declared,
            IpLiterals.canonical(declared.host())));
      }
    }
    entries = List.copyOf(next);
    Set<String> hosts = next.stream().filter(e -> e.literal().isEmpty()).map(e -> e.declared().host())
        .collect(Collectors.toSet());
    names.keySet().retainAll(hosts);
    hosts.forEach(host -> names.computeIfAbsent(host, h -> new Name()));
    publish();
  }

  /** Resolves every host name whose interval has run out (and those never resolved), then publishes. */
  void resolveDue() {
    Instant now = clock.instant();
    for (Map.Entry<String, Name> name : names.entrySet()) {
      if (!name.getValue().due.isAfter(now)) {
        resolve(name.getKey(), name.getValue());
        name.getValue().due = now.plus(interval);
      }
    }
    publish();
  }

  private void resolveDueSafely() {
    try {
      resolveDue();
    } catch (RuntimeException e) {
      log.error("resolving static endpoints failed", e); // a bug: keep resolving
    }
  }

  private void resolve(String host, Name name) {
    SortedSet<String> addresses = new TreeSet<>();
    try {
      for (InetAddress address : resolver.resolve(host)) {
        addresses.add(IpLiterals.canonical(address));
      }
      if (addresses.isEmpty()) {
        throw new UnknownHostException(host + ": no addresses");
      }
    } catch (UnknownHostException | RuntimeException e) {
      String failure = e instanceof UnknownHostException && e.getMessage() != null ? e.getMessage() : e.toString();
      if (!failure.equals(name.failure)) {
        log.warn("static endpoint {}: cannot resolve host '{}' ({}); {}", describe(host), host, failure,
            name.resolved ? "keeping the addresses it last resolved to: " + name.addresses
                : "no endpoint until it resolves");
        name.failure = failure;
      }
      return;
    }
    if (name.failure != null) {
      log.info("static endpoint {}: host '{}' resolves again", describe(host), host);
      name.failure = null;
    }
    if (!addresses.equals(name.addresses) || !name.resolved) {
      log.info("static endpoint {}: host '{}' resolves to {}{}", describe(host), host, addresses,
          name.resolved ? " (was " + name.addresses + ")" : "");
    }
    name.addresses = addresses;
    name.resolved = true;
  }

  private String describe(String host) {
    return entries.stream().filter(e -> e.declared().host().equals(host)).map(Entry::toString)
        .collect(Collectors.joining(", "));
  }

  /** Replaces the registry's static endpoints with what entries and names give now, if that changed. */
  private void publish() {
    Map<EndpointAddress, Set<String>> statics = new LinkedHashMap<>();
    for (Entry entry : entries) {
      int port = entry.declared().port();
      Set<String> hosts = entry.literal().<Set<String>>map(Set::of)
          .orElseGet(() -> names.get(entry.declared().host()).addresses);
      hosts.forEach(ip -> statics.computeIfAbsent(new EndpointAddress(ip, port), a -> new HashSet<>())
          .add(entry.service()));
    }
    if (statics.equals(published)) {
      return;
    }
    published = statics;
    registry.replaceStaticEndpoints(statics);
  }

  /** Stops resolving; the static endpoints stay in the registry as they are. */
  @Override
  public void close() {
    ScheduledFuture<?> task = ticking;
    if (task != null) {
      task.cancel(false);
    }
    thread.shutdownNow();
  }
}
