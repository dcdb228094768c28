package dev.protomatch.policy;

import dev.protomatch.policy.YamlNode.Mapping;
import dev.protomatch.policy.YamlNode.Sequence;
import java.nio.ByteBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.function.Function;
import java.util.function.Predicate;

/**
 * Reads and validates a policy file (format: {@code docs/policies.md}). Every problem is found in one go
 * and reported as {@code file:line:column: message}, so an operator fixes a file in one edit rather than
 * one error per attempt. A document that parses is trusted everywhere else.
 *
 * <p>Besides the file itself, the parser checks what it refers to: the {@code settings.auth} token file
 * must be readable and the token environment variable set. Both checks go through the functions given
 * to the constructor, so tests (and {@code protomatch validate} on a machine other than the control
 * plane's) do not depend on the machine they run on.
 *
 * <p>Instances are immutable and thread-safe.
 */
public final class PolicyParser {
  /** Keys of the top-level mapping. */
  public static final List<String> TOP_LEVEL_KEYS = List.of("settings", "services");
  public static final List<String> SETTINGS_KEYS = List.of("lease", "probe", "auth", "limits", "registration");
  public static final List<String> REGISTRATION_KEYS = List.of("hosts", "identities");
  public static final List<String> IDENTITY_KEYS = List.of("identity", "services", "hosts");
  public static final List<String> LEASE_KEYS = List.of("default-ttl", "min-ttl", "max-ttl");
  public static final List<String> PROBE_KEYS = List.of("interval", "timeout", "concurrency", "max-backoff");
  public static final List<String> AUTH_KEYS = List.of("token-file", "token-env", "insecure");
  public static final List<String> LIMITS_KEYS =
      List.of("max-message-bytes", "max-services-per-endpoint", "max-endpoints-per-client", "max-weight",
          "max-endpoints");
  /** Keys of one entry of {@code services}. */
  public static final List<String> SERVICE_KEYS = List.of(
      "service", "cluster", "expect", "when-none-qualify", "without-reflection", "static-endpoints",
      "max-timeout", "circuit-breakers", "retries", "upstream-tls", "outlier-detection");
  /** Keys of {@code expect} when it is a mapping (exactly one of them is given). */
  public static final List<String> EXPECT_KEYS = List.of("api", "schema", "methods");
  public static final List<String> CIRCUIT_BREAKER_KEYS =
      List.of("max-connections", "max-pending-requests", "max-requests");
  public static final List<String> RETRY_KEYS =
      List.of("enabled", "retry-on", "max-retries", "budget-percent", "without-retries");
  public static final List<String> UPSTREAM_TLS_KEYS = List.of("ca-file", "sni");
  public static final List<String> OUTLIER_DETECTION_KEYS = List.of(
      "consecutive-errors", "consecutive-gateway-errors", "base-ejection-time", "max-ejection-percent");

  /**
   * Every mapping of the format and the keys it accepts, by path: {@code ""} is the top level and
   * {@code services[]} any entry of {@code services}. Tests compare this with the JSON Schema so the two
   * cannot drift apart.
   */
  public static final Map<String, List<String>> ACCEPTED_KEYS = Map.ofEntries(
      Map.entry("", TOP_LEVEL_KEYS),
      Map.entry("settings", SETTINGS_KEYS),
      Map.entry("settings.lease", LEASE_KEYS),
      Map.entry("settings.probe", PROBE_KEYS),
      Map.entry("settings.auth", AUTH_KEYS),
      Map.entry("settings.limits", LIMITS_KEYS),
      Map.entry("settings.registration", REGISTRATION_KEYS),
      Map.entry("settings.registration.identities[]", IDENTITY_KEYS),
      Map.entry("services[]", SERVICE_KEYS),
      Map.entry("services[].expect", EXPECT_KEYS),
      Map.entry("services[].circuit-breakers", CIRCUIT_BREAKER_KEYS),
      Map.entry("services[].retries", RETRY_KEYS),
      Map.entry("services[].upstream-tls", UPSTREAM_TLS_KEYS),
      Map.entry("services[].outlier-detection", OUTLIER_DETECTION_KEYS));

  private final Function<String, String> environment;
  private final Predicate<Path> readable;

  /** Checks references against this process's environment and file system. */
  public PolicyParser() {
    this(System::getenv, file -> Files.isRegularFile(file) && Files.isReadable(file));
  }

  /**
   * @param environment the value of an environment variable, or null when it is not set
   * @param readable whether a token file can be read
   */
  public PolicyParser(Function<String, String> environment, Predicate<Path> readable) {
    this.environment = environment;
    this.readable = readable;
  }

  /**
   * A parser that checks the file but not what it refers to (token file, token variable): for
   * validating a policy on a machine that is not the control plane's, such as CI.
   */
  public static PolicyParser withoutReferenceChecks() {
    return new PolicyParser(name -> "not checked", file -> true);
  }

  /**
   * Parses a policy file's text. An empty document (no content or only comments) is valid: every
   * setting at its default and no services.
   *
   * @param fileName how errors name the file
   * @throws PolicyValidationException with every error, sorted by position
   */
  public PolicyDocument parse(String fileName, String yamlText) {
    PolicyErrors errors = new PolicyErrors(fileName);
    Optional<YamlNode> root = new YamlReader(errors).read(yamlText);
    if (root.isEmpty()) {
      errors.throwIfAny();
      return PolicyDocument.empty();
    }
    ValueReader values = new ValueReader(errors);
    Optional<Mapping> top = values.mapping(root.get(), YamlPath.ROOT, TOP_LEVEL_KEYS);
    if (top.isEmpty()) {
      errors.throwIfAny();
    }
    Settings settings = new SettingsParser(values, environment, readable).parse(top.orElseThrow());
    List<ServicePolicy> services = services(top.get(), values);
    errors.throwIfAny();
    return new PolicyDocument(settings, services);
  }

  /**
   * Parses a policy file's bytes, which must be UTF-8 (a leading byte-order mark is allowed).
   *
   * @throws PolicyValidationException with every error, sorted by position
   */
  public PolicyDocument parse(String fileName, byte[] content) {
    String text;
    try {
      text = StandardCharsets.UTF_8.newDecoder()
          .onMalformedInput(CodingErrorAction.REPORT)
          .onUnmappableCharacter(CodingErrorAction.REPORT)
          .decode(ByteBuffer.wrap(content))
          .toString();
    } catch (CharacterCodingException e) {
      throw new PolicyValidationException(List.of(new PolicyError(fileName, 1, 1, "not UTF-8 text")));
    }
    return parse(fileName, text.startsWith("\uFEFF") ? text.substring(1) : text);
  }

  private static List<ServicePolicy> services(Mapping top, ValueReader values) {
    YamlPath path = YamlPath.ROOT.key("services");
    Optional<Sequence> list = values.optionalList(top, YamlPath.ROOT, "services");
    if (list.isEmpty()) {
      return List.of();
    }
    ServicePolicyParser parser = new ServicePolicyParser(values);
    List<ServicePolicy> services = new ArrayList<>();
    for (int i = 0; i < list.get().items().size(); i++) {
      parser.parse(list.get().items().get(i), path.index(i)).ifPresent(services::add);
    }
    return services;
  }
}
