package dev.protomatch.policy;

import dev.protomatch.policy.DataPlanePolicy.CircuitBreakers;
import dev.protomatch.policy.DataPlanePolicy.OutlierDetection;
import dev.protomatch.policy.DataPlanePolicy.Retries;
import dev.protomatch.policy.DataPlanePolicy.UpstreamTls;
import dev.protomatch.policy.YamlNode.Mapping;
import dev.protomatch.policy.YamlNode.Scalar;
import dev.protomatch.policy.YamlNode.Sequence;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.OptionalInt;
import java.util.SortedSet;
import java.util.TreeSet;
import java.util.regex.Pattern;

/**
 * Reads the data-plane keys of one {@code services} entry ({@code max-timeout}, {@code circuit-breakers},
 * {@code retries} with its per-method {@code without-retries}, {@code upstream-tls}, {@code outlier-detection})
 * into a {@link DataPlanePolicy}. Every problem is reported through the {@link ValueReader}; an unusable value
 * falls back to its default so the other keys are still checked (the entry is refused as a whole by the caller).
 */
final class DataPlanePolicyParser {
  private static final Pattern HOST_NAME =
      Pattern.compile("[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?(\\.[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?)*");

  private final ValueReader values;

  DataPlanePolicyParser(ValueReader values) {
    this.values = values;
  }

  DataPlanePolicy parse(Mapping entry, YamlPath path) {
    Optional<Duration> maxTimeout = entry.get("max-timeout")
        .flatMap(node -> values.duration(node, path.key("max-timeout")));
    CircuitBreakers breakers = values.section(entry, path, "circuit-breakers", PolicyParser.CIRCUIT_BREAKER_KEYS)
        .map(m -> circuitBreakers(m, path.key("circuit-breakers")))
        .orElse(CircuitBreakers.DEFAULTS);
    Retries retries = values.section(entry, path, "retries", PolicyParser.RETRY_KEYS)
        .map(m -> retries(m, path.key("retries")))
        .orElse(Retries.DEFAULTS);
    Optional<UpstreamTls> tls = entry.get("upstream-tls").flatMap(node -> upstreamTls(node, path.key("upstream-tls")));
    // Present, even left empty, means on: "outlier-detection: {}" ejects with the defaults.
    Optional<OutlierDetection> outliers = entry.get("outlier-detection")
        .map(node -> outlierDetection(node, path.key("outlier-detection")));
    return new DataPlanePolicy(maxTimeout, breakers, retries, tls, outliers);
  }

  private CircuitBreakers circuitBreakers(Mapping m, YamlPath path) {
    return new CircuitBreakers(
        values.optional(m, path, "max-connections", values::positiveInt, CircuitBreakers.UNLIMITED),
        values.optional(m, path, "max-pending-requests", values::positiveInt, CircuitBreakers.UNLIMITED),
        values.optional(m, path, "max-requests", values::positiveInt, CircuitBreakers.UNLIMITED));
  }

  private Retries retries(Mapping m, YamlPath path) {
    boolean enabled = values.optional(m, path, "enabled", values::bool, true);
    List<String> retryOn = m.get("retry-on")
        .flatMap(node -> conditions(node, path.key("retry-on")))
        .orElse(Retries.DEFAULT_RETRY_ON);
    int maxRetries = values.optional(m, path, "max-retries", values::positiveInt, Retries.DEFAULT_MAX_RETRIES);
    OptionalInt budget = m.get("budget-percent")
        .flatMap(node -> percent(node, path.key("budget-percent")))
        .map(OptionalInt::of).orElse(OptionalInt.empty());
    SortedSet<String> withoutRetries = values.optionalList(m, path, "without-retries")
        .flatMap(list -> methods(list, path.key("without-retries")))
        .orElse(new TreeSet<>());
    return new Retries(enabled, retryOn, maxRetries, budget, withoutRetries);
  }

  /**
   * Method simple names, each once. Whether the service has them is not checked: a method may come with a
   * later build, and the policy may be applied before it.
   */
  private Optional<SortedSet<String>> methods(Sequence list, YamlPath path) {
    int errorsBefore = values.errorCount();
    Map<String, YamlNode> first = new HashMap<>();
    for (int i = 0; i < list.items().size(); i++) {
      YamlNode item = list.items().get(i);
      YamlPath itemPath = path.index(i);
      values.text(item, itemPath, "a method name such as Charge", ServicePolicyParser.METHOD_NAME.asMatchPredicate())
          .ifPresent(method -> {
            YamlNode earlier = first.putIfAbsent(method, item);
            if (earlier != null) {
              values.report(item, itemPath, "duplicate method '" + method + "' (first listed at "
                  + earlier.line() + ":" + earlier.column() + ")");
            }
          });
    }
    return values.errorCount() == errorsBefore ? Optional.of(new TreeSet<>(first.keySet())) : Optional.empty();
  }

  private Optional<List<String>> conditions(YamlNode node, YamlPath path) {
    if (!(node instanceof Sequence list) || list.items().isEmpty()) {
      values.reportExpected(node, path, "a non-empty list of retry conditions (" + String.join(", ", Retries.CONDITIONS) + ")");
      return Optional.empty();
    }
    int errorsBefore = values.errorCount();
    List<String> conditions = new ArrayList<>();
    Map<String, YamlNode> first = new HashMap<>();
    for (int i = 0; i < list.items().size(); i++) {
      YamlNode item = list.items().get(i);
      YamlPath itemPath = path.index(i);
      if (!(item instanceof Scalar s && s.isString() && Retries.CONDITIONS.contains(s.text()))) {
        values.report(item, itemPath, "unknown retry condition " + item.describe()
            + " (expected one of: " + String.join(", ", Retries.CONDITIONS) + ")");
        continue;
      }
      YamlNode earlier = first.putIfAbsent(s.text(), item);
      if (earlier != null) {
        values.report(item, itemPath, "duplicate retry condition '" + s.text() + "' (first listed at "
            + earlier.line() + ":" + earlier.column() + ")");
      } else {
        conditions.add(s.text());
      }
    }
    return values.errorCount() == errorsBefore ? Optional.of(conditions) : Optional.empty();
  }

  private Optional<Integer> percent(YamlNode node, YamlPath path) {
    if (node instanceof Scalar s && s.type() == Scalar.Type.INTEGER && s.text().matches("[0-9]{1,3}")
        && Integer.parseInt(s.text()) >= 1 && Integer.parseInt(s.text()) <= 100) {
      return Optional.of(Integer.parseInt(s.text()));
    }
    values.reportExpected(node, path, "a whole percentage from 1 to 100");
    return Optional.empty();
  }

  private Optional<UpstreamTls> upstreamTls(YamlNode node, YamlPath path) {
    Optional<Mapping> mapping = values.mapping(node, path, PolicyParser.UPSTREAM_TLS_KEYS);
    if (mapping.isEmpty() || !values.requireKeys(mapping.get(), path, List.of("ca-file"))) {
      return Optional.empty();
    }
    Mapping m = mapping.get();
    Optional<Path> caFile = values.text(m.get("ca-file").orElseThrow(), path.key("ca-file"),
            "an absolute path to a PEM file of CA certificates", text -> text.startsWith("/"))
        .map(Path::of);
    Optional<String> sni = m.get("sni").flatMap(n -> values.text(n, path.key("sni"),
        "a DNS name such as greeter.internal", HOST_NAME.asMatchPredicate()));
    return caFile.map(file -> new UpstreamTls(file, sni));
  }

  private OutlierDetection outlierDetection(YamlNode node, YamlPath path) {
    Optional<Mapping> mapping = ValueReader.isNull(node) ? Optional.empty()
        : values.mapping(node, path, PolicyParser.OUTLIER_DETECTION_KEYS);
    if (mapping.isEmpty()) {
      return new OutlierDetection(OutlierDetection.DEFAULT_CONSECUTIVE_ERRORS,
          OutlierDetection.DEFAULT_CONSECUTIVE_GATEWAY_ERRORS, OutlierDetection.DEFAULT_BASE_EJECTION_TIME,
          OutlierDetection.DEFAULT_MAX_EJECTION_PERCENT);
    }
    Mapping m = mapping.get();
    return new OutlierDetection(
        values.optional(m, path, "consecutive-errors", values::positiveInt, OutlierDetection.DEFAULT_CONSECUTIVE_ERRORS),
        values.optional(m, path, "consecutive-gateway-errors", values::positiveInt,
            OutlierDetection.DEFAULT_CONSECUTIVE_GATEWAY_ERRORS),
        values.optional(m, path, "base-ejection-time", values::duration, OutlierDetection.DEFAULT_BASE_EJECTION_TIME),
        values.optional(m, path, "max-ejection-percent", this::percent, OutlierDetection.DEFAULT_MAX_EJECTION_PERCENT));
  }
}
