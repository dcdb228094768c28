package dev.protomatch.policy;

import dev.protomatch.descriptor.DescriptorHash;
import dev.protomatch.descriptor.HashLevel;
import dev.protomatch.policy.ServicePolicy.WhenNoneQualify;
import dev.protomatch.policy.ServicePolicy.WithoutReflection;
import dev.protomatch.policy.YamlNode.Mapping;
import dev.protomatch.policy.YamlNode.Scalar;
import dev.protomatch.policy.YamlNode.Sequence;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.TreeSet;
import java.util.regex.Pattern;

/**
 * Reads the entries of {@code services}. One instance reads all entries of one document, so it also
 * checks that service and cluster names are unique across them (a duplicate names where the first was
 * declared).
 */
final class ServicePolicyParser {
  private static final String IDENTIFIER = "[A-Za-z_][A-Za-z0-9_]*";
  private static final Pattern SERVICE_NAME = Pattern.compile(IDENTIFIER + "(?:\\." + IDENTIFIER + ")*");
  /** A method's simple name, as in its service's .proto file. */
  static final Pattern METHOD_NAME = Pattern.compile(IDENTIFIER);
  private static final Pattern CLUSTER_NAME = Pattern.compile("[a-zA-Z0-9_.-]+");
  private static final String NEWEST = "newest";

  private final ValueReader values;
  private final DataPlanePolicyParser dataPlane;
  private final Map<String, YamlNode> firstService = new HashMap<>();
  private final Map<String, YamlNode> firstCluster = new HashMap<>();

  ServicePolicyParser(ValueReader values) {
    this.values = values;
    this.dataPlane = new DataPlanePolicyParser(values);
  }

  /** The policy of one entry, or empty when anything in it is wrong (every problem is reported). */
  Optional<ServicePolicy> parse(YamlNode node, YamlPath path) {
    Optional<Mapping> entry = values.mapping(node, path, PolicyParser.SERVICE_KEYS);
    if (entry.isEmpty()) {
      return Optional.empty();
    }
    Mapping m = entry.get();
    int errorsBefore = values.errorCount();
    values.requireKeys(m, path, List.of("service", "cluster", "expect"));
    Optional<String> service = m.get("service").flatMap(n -> unique(n, path.key("service"), "service",
        values.text(n, path.key("service"), "a full service name such as demo.Greeter", SERVICE_NAME.asMatchPredicate()),
        firstService));
    Optional<String> cluster = m.get("cluster").flatMap(n -> unique(n, path.key("cluster"), "cluster",
        values.text(n, path.key("cluster"), "a cluster name of letters, digits, '_', '.' and '-'",
            CLUSTER_NAME.asMatchPredicate()),
        firstCluster));
    Optional<Expectation> expect = m.get("expect").flatMap(n -> expectation(n, path.key("expect")));
    WhenNoneQualify whenNoneQualify = values.optional(m, path, "when-none-qualify",
        (n, p) -> values.choice(n, p, WhenNoneQualify.values()), WhenNoneQualify.FAIL_CLOSED);
    WithoutReflection withoutReflection = values.optional(m, path, "without-reflection",
        (n, p) -> values.choice(n, p, WithoutReflection.values()), WithoutReflection.TRUST_ADVERTISED);
    List<HostPort> staticEndpoints = values.optionalList(m, path, "static-endpoints")
        .map(list -> endpoints(list, path.key("static-endpoints")))
        .orElse(List.of());
    DataPlanePolicy dataPlanePolicy = dataPlane.parse(m, path);
    if (values.errorCount() != errorsBefore) {
      return Optional.empty();
    }
    return Optional.of(new ServicePolicy(
        service.orElseThrow(), cluster.orElseThrow(), expect.orElseThrow(), whenNoneQualify, withoutReflection,
        staticEndpoints, dataPlanePolicy));
  }

  private Optional<String> unique(
      YamlNode node, YamlPath path, String what, Optional<String> name, Map<String, YamlNode> first) {
    if (name.isEmpty()) {
      return name;
    }
    YamlNode earlier = first.putIfAbsent(name.get(), node);
    if (earlier != null) {
      values.report(node, path, "duplicate " + what + " '" + name.get() + "' (first declared at "
          + earlier.line() + ":" + earlier.column() + ")");
      return Optional.empty();
    }
    return name;
  }

  /** {@code newest}, or a mapping with exactly one of {@code api}, {@code schema}, {@code methods}. */
  private Optional<Expectation> expectation(YamlNode node, YamlPath path) {
    if (node instanceof Scalar s && s.isString() && s.text().equals(NEWEST)) {
      return Optional.of(new Expectation.Newest());
    }
    if (!(node instanceof Mapping)) {
      values.reportExpected(node, path,
          "'newest' or a mapping with one of " + ValueReader.listing(PolicyParser.EXPECT_KEYS, "or"));
      return Optional.empty();
    }
    Mapping m = values.mapping(node, path, PolicyParser.EXPECT_KEYS).orElseThrow();
    List<String> given = PolicyParser.EXPECT_KEYS.stream().filter(m::has).toList();
    if (!values.requireExactlyOne(m, path, PolicyParser.EXPECT_KEYS, given)) {
      return Optional.empty();
    }
    String key = given.get(0);
    YamlNode value = m.get(key).orElseThrow();
    YamlPath valuePath = path.key(key);
    return key.equals("methods")
        ? methods(value, valuePath)
        : hash(value, valuePath).map(hash -> new Expectation.PinnedHash(HashLevel.parse(key), hash));
  }

  private Optional<DescriptorHash> hash(YamlNode node, YamlPath path) {
    if (!(node instanceof Scalar s && s.isString())) {
      values.reportExpected(node, path, "a descriptor hash such as sha256:<64 hex digits>");
      return Optional.empty();
    }
    try {
      return Optional.of(DescriptorHash.parse(s.text()));
    } catch (IllegalArgumentException e) {
      values.report(node, path, e.getMessage());
      return Optional.empty();
    }
  }

  private Optional<Expectation> methods(YamlNode node, YamlPath path) {
    if (!(node instanceof Sequence list) || list.items().isEmpty()) {
      values.reportExpected(node, path, "a non-empty list of method names");
      return Optional.empty();
    }
    int errorsBefore = values.errorCount();
    Map<String, YamlNode> first = new HashMap<>();
    for (int i = 0; i < list.items().size(); i++) {
      YamlNode item = list.items().get(i);
      YamlPath itemPath = path.index(i);
      values.text(item, itemPath, "a method name such as SayHello", METHOD_NAME.asMatchPredicate())
          .ifPresent(method -> {
            YamlNode earlier = first.putIfAbsent(method, item);
            if (earlier != null) {
              values.report(item, itemPath, "duplicate method '" + method + "' (first listed at "
                  + earlier.line() + ":" + earlier.column() + ")");
            }
          });
    }
    return values.errorCount() == errorsBefore
        ? Optional.of(new Expectation.RequiredMethods(new TreeSet<>(first.keySet())))
        : Optional.empty();
  }

  private List<HostPort> endpoints(Sequence list, YamlPath path) {
    List<HostPort> endpoints = new ArrayList<>();
    Map<HostPort, YamlNode> first = new HashMap<>();
    for (int i = 0; i < list.items().size(); i++) {
      YamlNode item = list.items().get(i);
      YamlPath itemPath = path.index(i);
      if (!(item instanceof Scalar s && s.isString())) {
        values.reportExpected(item, itemPath, "host:port such as 127.0.0.1:50051");
        continue;
      }
      HostPort endpoint;
      try {
        endpoint = HostPort.parse(s.text());
      } catch (IllegalArgumentException e) {
        values.report(item, itemPath, e.getMessage());
        continue;
      }
      YamlNode earlier = first.putIfAbsent(endpoint, item);
      if (earlier != null) {
        values.report(item, itemPath, "duplicate endpoint '" + endpoint + "' (first listed at "
            + earlier.line() + ":" + earlier.column() + ")");
      } else {
        endpoints.add(endpoint);
      }
    }
    return endpoints;
  }
}
