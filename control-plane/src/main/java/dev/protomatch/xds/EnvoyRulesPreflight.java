package dev.protomatch.xds;

import com.google.protobuf.Any;
import com.google.protobuf.Descriptors.FieldDescriptor;
import com.google.protobuf.Duration;
import com.google.protobuf.InvalidProtocolBufferException;
import com.google.protobuf.Message;
import com.google.protobuf.TextFormat;
import com.google.protobuf.Timestamp;
import com.google.protobuf.util.Durations;
import com.google.protobuf.util.Timestamps;
import io.envoyproxy.envoy.config.cluster.v3.Cluster;
import io.envoyproxy.envoy.config.endpoint.v3.ClusterLoadAssignment;
import io.envoyproxy.envoy.config.listener.v3.Listener;
import io.envoyproxy.envoy.config.route.v3.RouteConfiguration;
import io.envoyproxy.envoy.extensions.filters.http.router.v3.Router;
import io.envoyproxy.envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager;
import io.envoyproxy.envoy.extensions.retry.host.previous_hosts.v3.PreviousHostsPredicate;
import io.envoyproxy.envoy.extensions.transport_sockets.tls.v3.UpstreamTlsContext;
import io.envoyproxy.envoy.extensions.upstreams.http.v3.HttpProtocolOptions;
import io.envoyproxy.pgv.ReflectiveValidatorIndex;
import io.envoyproxy.pgv.ValidationException;
import io.envoyproxy.pgv.Validator;
import io.envoyproxy.pgv.ValidatorIndex;
import java.util.ArrayList;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.Function;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Checks a node kind's xDS resources against Envoy's own validation rules before they are published: the
 * protoc-gen-validate ({@code validate.rules}) annotations in Envoy's .proto files, compiled into validators at
 * build time (module envoy-validation). No rule is interpreted here.
 *
 * <p>Every cluster, assignment, listener and route configuration is validated, and so is every typed config
 * embedded in them as a {@code google.protobuf.Any}, wherever it sits (the HttpConnectionManager of a
 * listener or API listener, the Router in its HTTP filters, the HttpProtocolOptions among a cluster's
 * typed_extension_protocol_options, a cluster's UpstreamTlsContext, a route's retry host predicate), recursively. An embedded type this class cannot check (not one of
 * {@link #EMBEDDED_TYPES}) is a problem too, so a new kind of typed config cannot slip through unchecked.
 *
 * <p>protoc-gen-validate generates nothing for a .proto file that does not import validate.proto, and its
 * runtime treats a message without a generated validator as valid: so a rule-less message such as
 * {@code UdpListenerConfig} would hide the rules of the messages inside it ({@code QuicProtocolOptions}). Such a
 * message is walked instead: each of its set message fields is validated as protoc-gen-validate's generated
 * code validates a message field without rules of its own.
 *
 * <p>Each problem is one line: resource type, resource name, where the embedded config sits if the rule
 * belongs to one, the field path as protoc-gen-validate reports it, and the rule, e.g.
 * {@code CDS demo-greeter: .envoy.config.cluster.v3.Cluster.connect_timeout: must be greater than 0s (got -1s)}.
 * protoc-gen-validate stops at a message's first broken rule, so there is at most one line per resource and
 * per embedded config. The rules are the same for both node kinds.
 *
 * <p>A resource is checked once: per node kind, the problems of each resource of the last call are kept by
 * identity (protobuf messages are immutable), and a later call reuses them for the same objects. The
 * snapshot builder hands the same objects on while a service's decision is unchanged, so a change checks only
 * the resources it touched. Only the last call's resources are kept.
 *
 * <p>Stateless apart from caches (concurrent maps: protoc-gen-validate's validator index, {@link AnyFields},
 * the last call's results per node kind, each replaced whole): safe to share between threads.
 */
public final class EnvoyRulesPreflight implements SnapshotPreflight {
  /** The typed configs protomatch embeds in its resources, by full protobuf name. */
  static final Map<String, Message> EMBEDDED_TYPES = byFullName(HttpConnectionManager.getDefaultInstance(),
      Router.getDefaultInstance(), HttpProtocolOptions.getDefaultInstance(), UpstreamTlsContext.getDefaultInstance(),
      PreviousHostsPredicate.getDefaultInstance());

  private static final Pattern SINGLE_BOUND = Pattern.compile("(must be (?:greater|less) than(?: or equal to)?) ?(.*)");

  private final ValidatorIndex validators = new ReflectiveValidatorIndex(new PassThrough());
  private final AnyFields anyFields = new AnyFields();

  /** Per node kind, each resource of the last call (by identity) and its problems. */
  private final Map<NodeKind, Map<Message, List<String>>> lastChecked = new ConcurrentHashMap<>();

  /** Empty when every resource keeps Envoy's rules; otherwise one line per broken resource or embedded config. */
  @Override
  public List<String> problems(NodeKind kind, XdsResources resources) {
    Map<Message, List<String>> previous = lastChecked.getOrDefault(kind, Map.of());
    Map<Message, List<String>> checked = new IdentityHashMap<>();
    List<String> problems = new ArrayList<>();
    check(XdsType.CDS, resources.clusters(), Cluster::getName, previous, checked, problems);
    check(XdsType.EDS, resources.endpoints(), ClusterLoadAssignment::getClusterName, previous, checked, problems);
    check(XdsType.LDS, resources.listeners(), Listener::getName, previous, checked, problems);
    check(XdsType.RDS, resources.routes(), RouteConfiguration::getName, previous, checked, problems);
    lastChecked.put(kind, checked);
    return List.copyOf(problems);
  }

  private <T extends Message> void check(XdsType type, List<T> resources, Function<T, String> name,
      Map<Message, List<String>> previous, Map<Message, List<String>> checked, List<String> problems) {
    for (int i = 0; i < resources.size(); i++) {
      T resource = resources.get(i);
      String resourceName = name.apply(resource);
      List<String> found = resourceName.isEmpty() ? null : previous.get(resource); // an empty name's label has i
      if (found == null) {
        String label = type + " " + (resourceName.isEmpty() ? "#" + i + " (empty name)" : resourceName);
        List<String> own = new ArrayList<>();
        validate(resource, label + ": ", own);
        found = List.copyOf(own);
      }
      checked.put(resource, found);
      problems.addAll(found);
    }
  }

  /** Validates one message and, recursively, every Any-embedded config inside it. */
  private void validate(Message message, String prefix, List<String> problems) {
    try {
      validators.validatorFor(message).assertValid(message);
    } catch (ValidationException e) {
      problems.add(prefix + e.getField() + ": " + rule(e.getReason(), e.getValue()));
    } catch (RuntimeException e) { // a fault in a generated validator: still one line, and not published
      problems.add(prefix + "Envoy's rules could not be checked: " + e);
    }
    embedded(message, "", prefix, problems);
  }

  /** Walks the set fields of {@code message} (at {@code path}) for Any values and validates what they hold. */
  private void embedded(Message message, String path, String prefix, List<String> problems) {
    for (FieldDescriptor field : anyFields.of(message.getDescriptorForType())) {
      String fieldPath = path.isEmpty() ? field.getName() : path + "." + field.getName();
      if (field.isMapField()) {
        for (Object entry : (List<?>) message.getField(field)) {
          Message mapEntry = (Message) entry;
          FieldDescriptor key = mapEntry.getDescriptorForType().findFieldByName("key");
          nested((Message) mapValue(mapEntry), fieldPath + "[" + mapEntry.getField(key) + "]", prefix, problems);
        }
      } else if (field.isRepeated()) {
        for (int i = 0; i < message.getRepeatedFieldCount(field); i++) {
          nested((Message) message.getRepeatedField(field, i), fieldPath + "[" + i + "]", prefix, problems);
        }
      } else if (message.hasField(field)) {
        nested((Message) message.getField(field), fieldPath, prefix, problems);
      }
    }
  }

  private void nested(Message message, String path, String prefix, List<String> problems) {
    if (message instanceof Any any) {
      unpacked(any, path, prefix, problems);
    } else {
      embedded(message, path, prefix, problems);
    }
  }

  private void unpacked(Any any, String path, String prefix, List<String> problems) {
    String typeName = any.getTypeUrl().substring(any.getTypeUrl().lastIndexOf('/') + 1);
    Message type = EMBEDDED_TYPES.get(typeName);
    if (type == null) {
      problems.add(prefix + path + ": no Envoy validator for embedded type " + any.getTypeUrl());
      return;
    }
    Message config;
    try {
      config = type.getParserForType().parseFrom(any.getValue());
    } catch (InvalidProtocolBufferException e) {
      problems.add(prefix + path + ": not a valid " + typeName + ": " + e.getMessage());
      return;
    }
    validate(config, prefix + path + ": ", problems);
  }

  /**
   * For a message class without a generated validator: validates each set message field (map values and
   * list items included) with the generated validators; well-known types carry no rules of their own.
   */
  private final class PassThrough implements ValidatorIndex {
    @Override
    @SuppressWarnings({"unchecked", "rawtypes"})
    public <T> Validator<T> validatorFor(Class type) {
      if (!Message.class.isAssignableFrom(type) || type.getName().startsWith("com.google.protobuf.")) {
        return Validator.ALWAYS_VALID;
      }
      return proto -> {
        for (Map.Entry<FieldDescriptor, Object> field : ((Message) proto).getAllFields().entrySet()) {
          if (field.getKey().getJavaType() == FieldDescriptor.JavaType.MESSAGE) {
            for (Object value : field.getKey().isRepeated() ? (List<?>) field.getValue() : List.of(field.getValue())) {
              Object checked = field.getKey().isMapField() ? mapValue((Message) value) : value;
              if (checked instanceof Message) {
                validators.validatorFor(checked).assertValid(checked);
              }
            }
          }
        }
      };
    }
  }

  private static Object mapValue(Message entry) {
    return entry.getField(entry.getDescriptorForType().findFieldByName("value"));
  }

  /**
   * protoc-gen-validate's reason on one line, and the offending value where the reason does not say it. The
   * reason prints a Duration or Timestamp bound with {@code toString()}, i.e. as multi-line text format that is
   * empty for zero; such a bound is shown as {@code 1.5s} / RFC 3339 instead.
   */
  static String rule(String reason, Object value) {
    String rule = reason.replaceAll("\\s+", " ").strip();
    if (value instanceof Duration) {
      rule = timeBound(rule, Duration.newBuilder(), d -> Durations.toString((Duration) d));
    } else if (value instanceof Timestamp) {
      rule = timeBound(rule, Timestamp.newBuilder(), t -> Timestamps.toString((Timestamp) t));
    }
    if (value == null || rule.equals("is required") || rule.contains("but got")) {
      return rule;
    }
    return rule + " (got " + shown(value) + ")";
  }

  private static String timeBound(String rule, Message.Builder bound, Function<Message, String> render) {
    Matcher matcher = SINGLE_BOUND.matcher(rule);
    if (!matcher.matches()) {
      return rule;
    }
    try {
      TextFormat.merge(matcher.group(2), bound);
      return matcher.group(1) + " " + render.apply(bound.build());
    } catch (TextFormat.ParseException e) {
      return rule;
    }
  }

  private static String shown(Object value) {
    if (value instanceof String text) {
      return "\"" + TextFormat.escapeDoubleQuotesAndBackslashes(text).replace("\n", "\\n") + "\"";
    }
    if (value instanceof Duration duration) {
      return Durations.toString(duration);
    }
    if (value instanceof Timestamp timestamp) {
      return Timestamps.toString(timestamp);
    }
    if (value instanceof Message message) {
      return TextFormat.shortDebugString(message);
    }
    return String.valueOf(value).replaceAll("\\s+", " ");
  }

  private static Map<String, Message> byFullName(Message... types) {
    Map<String, Message> byName = new TreeMap<>();
    for (Message type : types) {
      byName.put(type.getDescriptorForType().getFullName(), type);
    }
    return Map.copyOf(byName);
  }
}
