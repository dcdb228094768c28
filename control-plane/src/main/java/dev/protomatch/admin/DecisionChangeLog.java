package dev.protomatch.admin;

import dev.protomatch.decision.ExcludedEndpoint;
import dev.protomatch.decision.ExclusionReason;
import dev.protomatch.decision.RoutableEndpoint;
import dev.protomatch.decision.RoutingDecision;
import dev.protomatch.decision.ServiceDecision;
import dev.protomatch.descriptor.DescriptorHash;
import dev.protomatch.registry.EndpointAddress;
import dev.protomatch.registry.RegistryState;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.SortedSet;
import java.util.TreeSet;
import java.util.function.Consumer;
import java.util.function.Supplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One log line per change in who may take a service's calls, so the log reads as a history of routing:
 * <ul>
 *   <li>per endpoint whose part changed: {@code included ADDRESS (api ..)} when it takes every method any endpoint
 *       takes, {@code included ADDRESS for SayHello only (api ..)} when it takes some of them (an older build beside
 *       a newer one), {@code included ADDRESS for every call, unchecked (fail-open; ...)} when it takes calls only
 *       because the policy fails open, {@code excluded ADDRESS (reason)} only when it takes none of the service's
 *       calls, e.g. {@code demo.Greeter: excluded 127.0.0.1:50051 (api sha256:ab12.. != expected sha256:cd34..;
 *       missing [SayHelloAgain])}, and {@code gone ADDRESS} when it no longer claims the service;</li>
 *   <li>per service, when the set of methods whose calls fail closed (UNAVAILABLE) changes, that set by name
 *       ({@code calls to SayHelloAgian fail closed ...}, {@code every call fails closed ...}), and
 *       {@code no call fails closed any more} when it clears;</li>
 *   <li>per service, entering and leaving fail-open.</li>
 * </ul>
 * Unchanged endpoints and unchanged sets are not repeated. A service seen for the first time is compared with
 * one where nothing fails closed. A service whose {@link ServiceDecision} is the same object as last time (an
 * incremental decision keeps an untouched service's), and for whose excluded endpoints the registry still gives
 * the api the lines printed, is skipped without building a line: at fleet size most services are untouched by
 * one change. Called by the routing updater's thread; {@code accept} is synchronized, and the state it keeps from
 * one decision to the next is touched only there.
 */
public final class DecisionChangeLog implements Consumer<RoutingDecision> {
  private static final Logger log = LoggerFactory.getLogger("dev.protomatch.decisions");

  private final Supplier<RegistryState> registry;
  private final Consumer<String> sink;
  /** Per service, what was logged for it last. Guarded by this (touched only in {@link #accept}). */
  private Map<String, Logged> previous = Map.of();

  /**
   * What the log said of one service: the decision it described, per endpoint the line, the registry fact those
   * lines printed beside the decision (per excluded endpoint, the api {@link AdminViewBuilder#knownApi} gave; may
   * be null), whether that was read from the very state the decision was made from, and the fail-closed line (""
   * when nothing fails closed).
   */
  private record Logged(ServiceDecision decision, Map<EndpointAddress, String> lines,
                        Map<EndpointAddress, String> apis, boolean readDecidedState, String failingClosed) {
    /**
     * Whether logging {@code service} now would say the same again without being worked out: the same decision
     * object (incremental decisions keep an untouched service's), and the same api for every excluded endpoint.
     * An untouched service's claimants are unchanged in everything the decision reads, probe and advertisement
     * included ({@link dev.protomatch.decision.RegistryChanges}), so when both reads were of the states the decisions
     * were made from ({@code decidedState}), the apis are the same without looking. The registry is read when the
     * log runs, though, which may be after a newer change: then each api is read again and compared.
     */
    boolean unchanged(ServiceDecision service, RegistryState state, boolean decidedState) {
      if (decision != service) {
        return false;
      }
      if (readDecidedState && decidedState) {
        return true;
      }
      for (Map.Entry<EndpointAddress, String> read : apis.entrySet()) {
        if (!Objects.equals(read.getValue(),
            AdminViewBuilder.knownApi(state.endpoints().get(read.getKey()), service.service()))) {
          return false;
        }
      }
      return true;
    }
  }

  public DecisionChangeLog(Supplier<RegistryState> registry) {
    this(registry, log::info);
  }

  /** Writes each line to {@code sink} instead of the log (tests). */
  public DecisionChangeLog(Supplier<RegistryState> registry, Consumer<String> sink) {
    this.registry = registry;
    this.sink = sink;
  }

  @Override
  public synchronized void accept(RoutingDecision decision) {
    Map<String, Logged> next = new HashMap<>();
    RegistryState state = registry.get();
    boolean decidedState = state.version() == decision.registryVersion(); // equal versions: equal states
    for (ServiceDecision service : decision.services().values()) {
      Logged before = previous.get(service.service());
      if (before != null && before.unchanged(service, state, decidedState)) {
        next.put(service.service(), before); // nothing to say: no line is built
        continue;
      }
      next.put(service.service(), log(service, before, state, decidedState));
    }
    previous = next;
  }

  /** Logs what changed for {@code service} since {@code before} (null: first seen) and returns what it said. */
  private Logged log(ServiceDecision service, Logged before, RegistryState state, boolean decidedState) {
    boolean failOpen = service.outcome() == ServiceDecision.Outcome.NONE_QUALIFIED_FAIL_OPEN;
    boolean wasFailOpen = before != null
        && before.decision().outcome() == ServiceDecision.Outcome.NONE_QUALIFIED_FAIL_OPEN;
    if (failOpen != wasFailOpen) {
      sink.accept(service.service() + (failOpen
          ? ": fail-open: no build qualifies, so every live endpoint takes every call unchecked"
              + " (a call may reach a build without its method)"
          : ": no longer fail-open: calls go only to builds that serve their method"));
    }
    Map<EndpointAddress, String> lines = new HashMap<>();
    Map<EndpointAddress, String> apis = new HashMap<>();
    SortedSet<String> routed = routedMethods(service);
    service.builds().forEach((build, endpoints) -> {
      SortedSet<String> taken = methodsOf(service, build);
      String only = taken.equals(routed) ? "" : " for " + String.join(", ", taken) + " only";
      for (RoutableEndpoint endpoint : endpoints) {
        lines.put(endpoint.address(), "included " + endpoint.address() + only + api(endpoint));
      }
    });
    Map<EndpointAddress, ExcludedEndpoint> excluded = new HashMap<>();
    service.excluded().forEach(endpoint -> excluded.put(endpoint.address(), endpoint));
    for (RoutableEndpoint endpoint : service.fallback()) {
      // Fail-open: it did not qualify, yet takes every call; never shown as excluded.
      ExcludedEndpoint refused = excluded.remove(endpoint.address());
      lines.put(endpoint.address(), "included " + endpoint.address() + " for every call, unchecked (fail-open"
          + endpoint.api().map(api -> "; api " + api.abbreviated(8) + "..").orElse("")
          + (refused == null ? "" : "; did not qualify: " + detail(service, refused, state, apis)) + ")");
    }
    for (ExcludedEndpoint endpoint : excluded.values()) {
      lines.put(endpoint.address(), "excluded " + endpoint.address() + " (" + detail(service, endpoint, state, apis)
          + ")");
    }
    Map<EndpointAddress, String> linesBefore = before == null ? Map.of() : before.lines();
    List<String> changes = new ArrayList<>();
    lines.forEach((address, line) -> {
      if (!Objects.equals(linesBefore.get(address), line)) {
        changes.add(line);
      }
    });
    linesBefore.keySet().stream().filter(address -> !lines.containsKey(address))
        .forEach(address -> changes.add("gone " + address));
    changes.stream().sorted().forEach(change -> sink.accept(service.service() + ": " + change));
    String closed = failingClosed(service);
    String closedBefore = before == null ? "" : before.failingClosed();
    if (!closed.equals(closedBefore)) {
      sink.accept(service.service() + ": " + (closed.isEmpty() ? "no call fails closed any more" : closed));
    }
    return new Logged(service, lines, apis, decidedState, closed);
  }

  /** What fails closed (UNAVAILABLE) under {@code service}'s decision, naming the methods; "" when nothing does. */
  static String failingClosed(ServiceDecision service) {
    SortedSet<String> methods = service.methodsFailingClosed();
    if (service.failsClosedForEveryMethod()) {
      return methods.isEmpty()
          ? "every call fails closed (UNAVAILABLE): no live endpoint takes any of its calls"
          : "calls to " + String.join(", ", methods) + " and every other method fail closed (UNAVAILABLE):"
              + " no live endpoint takes any of its calls";
    }
    if (methods.isEmpty()) {
      return "";
    }
    return "calls to " + String.join(", ", methods) + " fail closed (UNAVAILABLE): no live build the policy admits"
        + " serves " + (methods.size() == 1 ? "it" : "them") + "; the other methods are routed";
  }

  /** The methods some endpoint takes. */
  private static SortedSet<String> routedMethods(ServiceDecision service) {
    SortedSet<String> out = new TreeSet<>();
    service.routes().forEach((method, route) -> {
      if (!route.builds().isEmpty()) {
        out.add(method);
      }
    });
    return out;
  }

  /** The methods whose calls go to {@code build}. */
  private static SortedSet<String> methodsOf(ServiceDecision service, DescriptorHash build) {
    SortedSet<String> out = new TreeSet<>();
    service.routes().forEach((method, route) -> {
      if (route.builds().contains(build)) {
        out.add(method);
      }
    });
    return out;
  }

  private static String api(RoutableEndpoint endpoint) {
    return endpoint.api().map(api -> " (api " + api.abbreviated(8) + "..)").orElse("");
  }

  /** Why {@code endpoint} did not qualify; records in {@code apis} the api it read from {@code state}. */
  private static String detail(ServiceDecision service, ExcludedEndpoint endpoint, RegistryState state,
                               Map<EndpointAddress, String> apis) {
    ExclusionReason reason = endpoint.reason();
    String reasonText = reason instanceof ExclusionReason.MissingMethods missing
        ? "missing [" + String.join(", ", missing.methods()) + "]" : reason.describe();
    String api = AdminViewBuilder.knownApi(state.endpoints().get(endpoint.address()), service.service());
    apis.put(endpoint.address(), api);
    if (api != null && service.expected().isPresent() && !service.expected().get().api().value().equals(api)
        && !(reason instanceof ExclusionReason.HashMismatch)) {
      return "api " + api.substring(0, Math.min(api.length(), 15)) + ".. != expected "
          + service.expected().get().api().abbreviated(8) + "..; " + reasonText;
    }
    return reasonText;
  }
}
