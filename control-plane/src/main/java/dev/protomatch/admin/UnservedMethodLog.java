package dev.protomatch.admin;

import dev.protomatch.decision.MethodRoute;
import dev.protomatch.decision.RoutingDecision;
import dev.protomatch.decision.ServiceDecision;
import dev.protomatch.policy.Expectation;
import java.util.HashMap;
import java.util.Map;
import java.util.SortedSet;
import java.util.TreeSet;
import java.util.function.Consumer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A WARN when a policy requires methods no live endpoint serves, e.g.
 * {@code demo.Greeter: the policy requires SayHelloAgian, which no live endpoint serves: its calls fail closed
 * (live endpoints serve SayHello, SayHelloAgain; a misspelt method name?)}. Said once per service and set of such
 * methods, again only when that set changes, so a policy edit with a typo is named at once and not repeated.
 */
public final class UnservedMethodLog implements Consumer<RoutingDecision> {
  private static final Logger log = LoggerFactory.getLogger(UnservedMethodLog.class);

  private final Consumer<String> sink;
  /** Per service, the unserved required methods last reported. Guarded by this. */
  private final Map<String, SortedSet<String>> reported = new HashMap<>();

  public UnservedMethodLog() {
    this(log::warn);
  }

  /** Writes each line to {@code sink} instead of the log (tests). */
  public UnservedMethodLog(Consumer<String> sink) {
    this.sink = sink;
  }

  @Override
  public synchronized void accept(RoutingDecision decision) {
    reported.keySet().retainAll(decision.services().keySet());
    for (ServiceDecision service : decision.services().values()) {
      SortedSet<String> unserved = new TreeSet<>();
      SortedSet<String> served = new TreeSet<>();
      if (service.policy().expect() instanceof Expectation.RequiredMethods required) {
        for (MethodRoute route : service.routes().values()) {
          if (!route.builds().isEmpty()) {
            served.add(route.method());
          } else if (required.methods().contains(route.method())) {
            unserved.add(route.method());
          }
        }
      }
      SortedSet<String> before = reported.put(service.service(), unserved);
      if (!unserved.isEmpty() && !unserved.equals(before)) {
        sink.accept(service.service() + ": the policy requires " + String.join(", ", unserved) + ", which no live"
            + " endpoint serves: " + (unserved.size() == 1 ? "its calls fail" : "their calls fail") + " closed ("
            + (served.isEmpty() ? "no live endpoint serves any method of the service yet"
                : "live endpoints serve " + String.join(", ", served)) + "; a misspelt method name?)");
      }
    }
  }
}
