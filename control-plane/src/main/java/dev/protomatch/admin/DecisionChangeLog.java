package dev.protomatch.admin;

import dev.protomatch.decision.ExcludedEndpoint;
import dev.protomatch.decision.ExclusionReason;
import dev.protomatch.decision.RoutableEndpoint;
import dev.protomatch.decision.RoutingDecision;
import dev.protomatch.decision.ServiceDecision;
import dev.protomatch.registry.EndpointAddress;
import dev.protomatch.registry.RegistryState;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.function.Consumer;
import java.util.function.Supplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One log line per change in who may take a service's calls, e.g.
 * {@code demo.Greeter: excluded 127.0.0.1:50051 (api sha256:ab12.. != expected sha256:cd34..; missing [SayHelloAgain])}.
 * Unchanged endpoints are not repeated, so the log reads as a history of routing.
 */
public final class DecisionChangeLog implements Consumer<RoutingDecision> {
  private static final Logger log = LoggerFactory.getLogger("dev.protomatch.decisions");

  private final Supplier<RegistryState> registry;
  private final Consumer<String> sink;
  private Map<String, Map<EndpointAddress, String>> previous = Map.of();
  private Map<String, ServiceDecision.Outcome> previousOutcomes = Map.of();

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
    Map<String, Map<EndpointAddress, String>> next = new HashMap<>();
    Map<String, ServiceDecision.Outcome> outcomes = new HashMap<>();
    RegistryState state = registry.get();
    for (ServiceDecision service : decision.services().values()) {
      outcomes.put(service.service(), service.outcome());
      boolean failOpen = service.outcome() == ServiceDecision.Outcome.NONE_QUALIFIED_FAIL_OPEN;
      if (failOpen != (previousOutcomes.get(service.service()) == ServiceDecision.Outcome.NONE_QUALIFIED_FAIL_OPEN)) {
        sink.accept(service.service() + (failOpen
            ? ": fail-open: no build qualifies, so every live endpoint takes every call unchecked"
                + " (a call may reach a build without its method)"
            : ": no longer fail-open: calls go only to builds that serve their method"));
      }
      Map<EndpointAddress, String> lines = new HashMap<>();
      for (RoutableEndpoint endpoint : service.included()) {
        lines.put(endpoint.address(), "included " + endpoint.address()
            + endpoint.api().map(api -> " (api " + api.abbreviated(8) + "..)").orElse(""));
      }
      for (ExcludedEndpoint endpoint : service.excluded()) {
        lines.put(endpoint.address(), "excluded " + endpoint.address() + " (" + detail(service, endpoint, state) + ")");
      }
      Map<EndpointAddress, String> before = previous.getOrDefault(service.service(), Map.of());
      List<String> changes = new ArrayList<>();
      lines.forEach((address, line) -> {
        if (!Objects.equals(before.get(address), line)) {
          changes.add(line);
        }
      });
      before.keySet().stream().filter(address -> !lines.containsKey(address))
          .forEach(address -> changes.add("gone " + address));
      changes.stream().sorted().forEach(change -> sink.accept(service.service() + ": " + change));
      next.put(service.service(), lines);
    }
    previous = next;
    previousOutcomes = outcomes;
  }

  private static String detail(ServiceDecision service, ExcludedEndpoint endpoint, RegistryState state) {
    ExclusionReason reason = endpoint.reason();
    String reasonText = reason instanceof ExclusionReason.MissingMethods missing
        ? "missing [" + String.join(", ", missing.methods()) + "]" : reason.describe();
    String api = AdminViewBuilder.knownApi(state.endpoints().get(endpoint.address()), service.service());
    if (api != null && service.expected().isPresent() && !service.expected().get().api().value().equals(api)
        && !(reason instanceof ExclusionReason.HashMismatch)) {
      return "api " + api.substring(0, Math.min(api.length(), 15)) + ".. != expected "
          + service.expected().get().api().abbreviated(8) + "..; " + reasonText;
    }
    return reasonText;
  }
}
