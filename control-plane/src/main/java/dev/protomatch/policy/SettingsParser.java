package dev.protomatch.policy;

import dev.protomatch.policy.YamlNode.Mapping;
import dev.protomatch.policy.YamlNode.Scalar;
import dev.protomatch.registry.EndpointRegistration;
import java.nio.file.InvalidPathException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.function.Function;
import java.util.function.Predicate;
import java.util.regex.Pattern;

/**
 * Reads the {@code settings} section: every key optional, defaults from {@link Settings#defaults()}.
 * Besides shapes it checks what the file refers to outside itself: that a {@code token-file} can be read
 * and a {@code token-env} variable is set, so a control plane never starts (or reloads) into a policy
 * whose registrations could not be authenticated.
 */
final class SettingsParser {
  private static final YamlPath PATH = YamlPath.ROOT.key("settings");
  private static final Pattern ENV_NAME = Pattern.compile("[A-Za-z_][A-Za-z0-9_]*");

  private final ValueReader values;
  private final Function<String, String> environment;
  private final Predicate<Path> readable;

  SettingsParser(ValueReader values, Function<String, String> environment, Predicate<Path> readable) {
    this.values = values;
    this.environment = environment;
    this.readable = readable;
  }

  /** The settings of {@code document}'s top-level mapping. */
  Settings parse(Mapping document) {
    Settings defaults = Settings.defaults();
    Optional<Mapping> settings = values.section(document, YamlPath.ROOT, "settings", PolicyParser.SETTINGS_KEYS);
    if (settings.isEmpty()) {
      return defaults;
    }
    Mapping s = settings.get();
    return new Settings(
        values.section(s, PATH, "lease", PolicyParser.LEASE_KEYS).map(this::lease).orElse(defaults.lease()),
        values.section(s, PATH, "probe", PolicyParser.PROBE_KEYS).map(this::probe).orElse(defaults.probe()),
        values.section(s, PATH, "auth", PolicyParser.AUTH_KEYS).map(this::auth).orElse(defaults.auth()),
        values.section(s, PATH, "limits", PolicyParser.LIMITS_KEYS).map(this::limits).orElse(defaults.limits()),
        values.section(s, PATH, "registration", PolicyParser.REGISTRATION_KEYS).map(this::registration)
            .orElse(defaults.registration()));
  }

  private enum Hosts { OWN, ANY }

  private Settings.Registration registration(Mapping registration) {
    YamlPath path = PATH.key("registration");
    boolean anyHost = values.optional(registration, path, "hosts", (node, at) -> values.choice(node, at, Hosts.values()),
        Hosts.OWN) == Hosts.ANY;
    List<Settings.IdentityGrant> grants = new ArrayList<>();
    YamlPath identitiesPath = path.key("identities");
    values.optionalList(registration, path, "identities").ifPresent(list -> {
      for (int i = 0; i < list.items().size(); i++) {
        YamlPath at = identitiesPath.index(i);
        values.mapping(list.items().get(i), at, PolicyParser.IDENTITY_KEYS).ifPresent(grant -> {
          if (!values.requireKeys(grant, at, List.of("identity", "services"))) {
            return;
          }
          Optional<String> identity = values.string(grant.get("identity").orElseThrow(), at.key("identity"));
          List<String> services = strings(grant, at, "services");
          List<AddressBlock> hosts = new ArrayList<>();
          YamlPath hostsPath = at.key("hosts");
          values.optionalList(grant, at, "hosts").ifPresent(items -> {
            for (int h = 0; h < items.items().size(); h++) {
              values.text(items.items().get(h), hostsPath.index(h), "an IP address or CIDR block such as 10.1.0.0/16",
                  text -> AddressBlock.parse(text).isPresent()).flatMap(AddressBlock::parse).ifPresent(hosts::add);
            }
          });
          if (services.isEmpty()) {
            values.report(grant, at.key("services"), "expected at least one service name (or \"*\" for any)");
          }
          identity.ifPresent(id -> grants.add(new Settings.IdentityGrant(id, services, hosts)));
        });
      }
    });
    return new Settings.Registration(anyHost, grants);
  }

  private List<String> strings(Mapping mapping, YamlPath path, String key) {
    List<String> strings = new ArrayList<>();
    YamlPath listPath = path.key(key);
    values.optionalList(mapping, path, key).ifPresent(list -> {
      for (int i = 0; i < list.items().size(); i++) {
        values.string(list.items().get(i), listPath.index(i)).ifPresent(strings::add);
      }
    });
    return strings;
  }

  private Settings.Lease lease(Mapping lease) {
    YamlPath path = PATH.key("lease");
    Settings.Lease d = Settings.defaults().lease();
    int errorsBefore = values.errorCount();
    Duration defaultTtl = values.optional(lease, path, "default-ttl", values::duration, d.defaultTtl());
    Duration minTtl = values.optional(lease, path, "min-ttl", values::duration, d.minTtl());
    Duration maxTtl = values.optional(lease, path, "max-ttl", values::duration, d.maxTtl());
    boolean ordered = minTtl.compareTo(defaultTtl) <= 0 && defaultTtl.compareTo(maxTtl) <= 0;
    if (values.errorCount() == errorsBefore && !ordered) {
      values.report(lease, path, "expected min-ttl <= default-ttl <= max-ttl, got min-ttl "
          + DurationText.format(minTtl) + ", default-ttl " + DurationText.format(defaultTtl)
          + ", max-ttl " + DurationText.format(maxTtl));
    }
    return new Settings.Lease(defaultTtl, minTtl, maxTtl);
  }

  private Settings.Probe probe(Mapping probe) {
    YamlPath path = PATH.key("probe");
    Settings.Probe d = Settings.defaults().probe();
    return new Settings.Probe(
        values.optional(probe, path, "interval", values::duration, d.interval()),
        values.optional(probe, path, "timeout", values::duration, d.timeout()),
        values.optional(probe, path, "concurrency", values::positiveInt, d.concurrency()),
        values.optional(probe, path, "max-backoff", values::duration, d.maxBackoff()));
  }

  private Settings.Auth auth(Mapping auth) {
    YamlPath path = PATH.key("auth");
    Optional<Path> tokenFile = auth.get("token-file").flatMap(node -> tokenFile(node, path.key("token-file")));
    Optional<String> tokenEnv = auth.get("token-env").flatMap(node -> tokenEnv(node, path.key("token-env")));
    Optional<Boolean> insecure = auth.get("insecure").flatMap(node -> values.bool(node, path.key("insecure")));
    List<String> given = new ArrayList<>();
    if (auth.has("token-file")) {
      given.add("token-file");
    }
    if (auth.has("token-env")) {
      given.add("token-env");
    }
    if (auth.has("insecure") && !insecure.equals(Optional.of(false))) {
      given.add("insecure: true"); // a malformed value is reported by itself, not also as "got none"
    }
    values.requireExactlyOne(auth, path, List.of("token-file", "token-env", "insecure: true"), given);
    return new Settings.Auth(tokenFile, tokenEnv, insecure.orElse(false));
  }

  private Optional<Path> tokenFile(YamlNode node, YamlPath path) {
    Optional<String> text = values.string(node, path);
    if (text.isEmpty()) {
      return Optional.empty();
    }
    Path file;
    try {
      file = Path.of(text.get());
    } catch (InvalidPathException e) {
      values.reportExpected(node, path, "a file path");
      return Optional.empty();
    }
    if (!readable.test(file)) {
      values.report(node, path, "cannot read token file '" + file + "' (it does not exist or is not readable)");
      return Optional.empty();
    }
    return Optional.of(file);
  }

  private Optional<String> tokenEnv(YamlNode node, YamlPath path) {
    Optional<String> name = values.text(node, path, "an environment variable name such as PROTOMATCH_REGISTRATION_TOKEN",
        text -> ENV_NAME.matcher(text).matches());
    if (name.isEmpty()) {
      return Optional.empty();
    }
    String value = environment.apply(name.get());
    if (value == null) {
      values.report(node, path, "environment variable '" + name.get() + "' is not set");
      return Optional.empty();
    }
    if (value.isEmpty()) {
      values.report(node, path, "environment variable '" + name.get() + "' is empty");
      return Optional.empty();
    }
    return name;
  }

  private Settings.Limits limits(Mapping limits) {
    YamlPath path = PATH.key("limits");
    Settings.Limits d = Settings.defaults().limits();
    return new Settings.Limits(
        values.optional(limits, path, "max-message-bytes", values::positiveInt, d.maxMessageBytes()),
        values.optional(limits, path, "max-services-per-endpoint", values::positiveInt, d.maxServicesPerEndpoint()),
        values.optional(limits, path, "max-endpoints-per-client", values::positiveInt, d.maxEndpointsPerClient()),
        values.optional(limits, path, "max-weight", this::weight, d.maxWeight()),
        values.optional(limits, path, "max-endpoints", values::positiveInt, d.maxEndpoints()));
  }

  private Optional<Integer> weight(YamlNode node, YamlPath path) {
    if (node instanceof Scalar s && s.type() == Scalar.Type.INTEGER && s.text().matches("[0-9]{1,5}")
        && Integer.parseInt(s.text()) >= 1 && Integer.parseInt(s.text()) <= EndpointRegistration.MAX_WEIGHT) {
      return Optional.of(Integer.parseInt(s.text()));
    }
    values.reportExpected(node, path, "a weight from 1 to " + EndpointRegistration.MAX_WEIGHT);
    return Optional.empty();
  }
}
