package dev.protomatch.registry;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.protomatch.descriptor.DescriptorHash;
import dev.protomatch.descriptor.MethodSignature;
import dev.protomatch.descriptor.ServiceFingerprint;
import dev.protomatch.probe.ReflectionException;
import dev.protomatch.probe.ReflectionProtocol;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.Instant;
import java.util.Iterator;
import java.util.Map;
import java.util.Optional;
import java.util.SortedMap;
import java.util.TreeMap;

/**
 * The JSON values {@link EtcdEndpointRegistry} keeps in etcd: one {@link Registration} per registered
 * address and one {@link Probe} per probed address. Field order is fixed, so equal records encode to equal
 * bytes; decoding gives back exactly what was encoded (instants to the nanosecond, every hash and method
 * signature).
 *
 * <p>Decoding a value that is not such a record throws {@link IllegalArgumentException} naming what is
 * wrong; the registry logs it and ignores that key.
 */
final class EtcdRecords {
  private static final ObjectMapper JSON = new ObjectMapper();

  private EtcdRecords() {}

  /**
   * A registration as stored under {@code <prefix>registrations/<address>}, attached to lease
   * {@code leaseId}.
   *
   * @param generation the lease id of the registration that first made these claims at this address
   *     (re-registrations with equal claims keep it), see {@link EndpointState#generation()}
   */
  record Registration(
      long generation, long leaseId, Duration ttl, EndpointAddress address, Locality locality,
      SortedMap<String, String> labels, int weight, SortedMap<String, Advertisement> advertised, String client,
      Instant registeredAt) {
    Registration {
      labels = new TreeMap<>(labels);
      advertised = new TreeMap<>(advertised);
    }
  }

  /** A probe outcome as stored under {@code <prefix>probes/<address>}, valid for one endpoint generation. */
  record Probe(long generation, ProbeState probe) {}

  static byte[] encode(Registration registration) {
    ObjectNode root = JSON.createObjectNode();
    root.put("generation", registration.generation());
    root.put("leaseId", Long.toHexString(registration.leaseId()));
    root.put("ttlSeconds", registration.ttl().toSeconds());
    root.set("address", address(registration.address()));
    ObjectNode locality = root.putObject("locality");
    locality.put("region", registration.locality().region());
    locality.put("zone", registration.locality().zone());
    locality.put("subZone", registration.locality().subZone());
    ObjectNode labels = root.putObject("labels");
    registration.labels().forEach(labels::put);
    root.put("weight", registration.weight());
    ArrayNode services = root.putArray("services");
    registration.advertised().values().forEach(advertisement -> services.add(advertisement(advertisement)));
    root.put("client", registration.client());
    root.put("registeredAt", registration.registeredAt().toString());
    return bytes(root);
  }

  static Registration decodeRegistration(byte[] value) {
    JsonNode root = tree(value, "registration");
    JsonNode locality = object(root, "locality");
    SortedMap<String, String> labels = new TreeMap<>();
    object(root, "labels").fields().forEachRemaining(e -> labels.put(e.getKey(), text(e.getValue(), "label")));
    SortedMap<String, Advertisement> advertised = new TreeMap<>();
    for (JsonNode service : array(root, "services")) {
      Advertisement advertisement = advertisement(service);
      advertised.put(advertisement.service(), advertisement);
    }
    return new Registration(
        number(root, "generation"), Long.parseUnsignedLong(string(root, "leaseId"), 16),
        Duration.ofSeconds(number(root, "ttlSeconds")), address(object(root, "address")),
        new Locality(string(locality, "region"), string(locality, "zone"), string(locality, "subZone")),
        labels, (int) number(root, "weight"), advertised, string(root, "client"),
        Instant.parse(string(root, "registeredAt")));
  }

  static byte[] encode(Probe probe) {
    ObjectNode root = JSON.createObjectNode();
    root.put("generation", probe.generation());
    ObjectNode state = root.putObject("probe");
    ProbeState outcome = probe.probe();
    if (outcome instanceof ProbeState.Probed probed) {
      state.put("state", "probed");
      state.put("at", probed.at().toString());
      state.put("protocol", probed.protocol().name());
      ObjectNode services = state.putObject("services");
      probed.services().forEach((name, fingerprint) -> services.set(name, fingerprint(fingerprint)));
    } else if (outcome instanceof ProbeState.Failed failed) {
      state.put("state", "failed");
      state.put("at", failed.at().toString());
      state.put("kind", failed.kind().name());
      state.put("message", failed.message());
      state.put("consecutiveFailures", failed.consecutiveFailures());
    } else {
      state.put("state", "not-probed");
    }
    return bytes(root);
  }

  static Probe decodeProbe(byte[] value) {
    JsonNode root = tree(value, "probe");
    JsonNode state = object(root, "probe");
    ProbeState probe = switch (string(state, "state")) {
      case "not-probed" -> ProbeState.NOT_PROBED;
      case "probed" -> {
        SortedMap<String, ServiceFingerprint> services = new TreeMap<>();
        object(state, "services").fields().forEachRemaining(e -> services.put(e.getKey(), fingerprint(e.getValue())));
        yield new ProbeState.Probed(Instant.parse(string(state, "at")),
            ReflectionProtocol.valueOf(string(state, "protocol")), services);
      }
      case "failed" -> new ProbeState.Failed(Instant.parse(string(state, "at")),
          ReflectionException.Kind.valueOf(string(state, "kind")), string(state, "message"),
          (int) number(state, "consecutiveFailures"));
      default -> throw new IllegalArgumentException("unknown probe state '" + string(state, "state") + "'");
    };
    return new Probe(number(root, "generation"), probe);
  }

  private static ObjectNode address(EndpointAddress address) {
    ObjectNode node = JSON.createObjectNode();
    node.put("host", address.host());
    node.put("port", address.port());
    return node;
  }

  private static EndpointAddress address(JsonNode node) {
    return new EndpointAddress(string(node, "host"), (int) number(node, "port"));
  }

  private static ObjectNode advertisement(Advertisement advertisement) {
    ObjectNode node = JSON.createObjectNode();
    node.put("service", advertisement.service());
    advertisement.api().ifPresent(hash -> node.put("api", hash.value()));
    advertisement.schema().ifPresent(hash -> node.put("schema", hash.value()));
    advertisement.fingerprint().ifPresent(fingerprint -> node.set("fingerprint", fingerprint(fingerprint)));
    return node;
  }

  private static Advertisement advertisement(JsonNode node) {
    return new Advertisement(string(node, "service"),
        optionalString(node, "api").map(DescriptorHash::parse),
        optionalString(node, "schema").map(DescriptorHash::parse),
        node.has("fingerprint") ? Optional.of(fingerprint(object(node, "fingerprint"))) : Optional.empty());
  }

  private static ObjectNode fingerprint(ServiceFingerprint fingerprint) {
    ObjectNode node = JSON.createObjectNode();
    node.put("service", fingerprint.service());
    node.put("api", fingerprint.api().value());
    node.put("schema", fingerprint.schema().value());
    ObjectNode methods = node.putObject("methods");
    fingerprint.methods().forEach((key, method) -> {
      ObjectNode m = methods.putObject(key);
      m.put("name", method.name());
      m.put("inputType", method.inputType());
      m.put("outputType", method.outputType());
      m.put("clientStreaming", method.clientStreaming());
      m.put("serverStreaming", method.serverStreaming());
    });
    return node;
  }

  private static ServiceFingerprint fingerprint(JsonNode node) {
    SortedMap<String, MethodSignature> methods = new TreeMap<>();
    Iterator<Map.Entry<String, JsonNode>> entries = object(node, "methods").fields();
    while (entries.hasNext()) {
      Map.Entry<String, JsonNode> e = entries.next();
      JsonNode m = e.getValue();
      methods.put(e.getKey(), new MethodSignature(string(m, "name"), string(m, "inputType"),
          string(m, "outputType"), bool(m, "clientStreaming"), bool(m, "serverStreaming")));
    }
    return new ServiceFingerprint(string(node, "service"), DescriptorHash.parse(string(node, "api")),
        DescriptorHash.parse(string(node, "schema")), methods);
  }

  private static byte[] bytes(JsonNode node) {
    try {
      return JSON.writeValueAsBytes(node);
    } catch (JsonProcessingException e) {
      throw new IllegalStateException("cannot write JSON", e); // a tree of strings and numbers always writes
    }
  }

  private static JsonNode tree(byte[] value, String what) {
    try {
      JsonNode root = JSON.readTree(value);
      if (root == null || !root.isObject()) {
        throw new IllegalArgumentException(what + " record is not a JSON object: "
            + new String(value, StandardCharsets.UTF_8));
      }
      return root;
    } catch (IOException e) {
      throw new IllegalArgumentException(what + " record is not JSON: " + e.getMessage().lines().findFirst().orElse(""), e);
    }
  }

  private static JsonNode field(JsonNode node, String name) {
    JsonNode field = node.get(name);
    if (field == null || field.isNull()) {
      throw new IllegalArgumentException("record lacks field '" + name + "'");
    }
    return field;
  }

  private static JsonNode object(JsonNode node, String name) {
    JsonNode field = field(node, name);
    if (!field.isObject()) {
      throw new IllegalArgumentException("field '" + name + "' is not an object");
    }
    return field;
  }

  private static JsonNode array(JsonNode node, String name) {
    JsonNode field = field(node, name);
    if (!field.isArray()) {
      throw new IllegalArgumentException("field '" + name + "' is not an array");
    }
    return field;
  }

  private static String string(JsonNode node, String name) {
    return text(field(node, name), name);
  }

  private static String text(JsonNode node, String name) {
    if (!node.isTextual()) {
      throw new IllegalArgumentException("field '" + name + "' is not a string");
    }
    return node.textValue();
  }

  private static Optional<String> optionalString(JsonNode node, String name) {
    return node.has(name) ? Optional.of(string(node, name)) : Optional.empty();
  }

  private static long number(JsonNode node, String name) {
    JsonNode field = field(node, name);
    if (!field.isIntegralNumber() || !field.canConvertToLong()) {
      throw new IllegalArgumentException("field '" + name + "' is not an integer");
    }
    return field.longValue();
  }

  private static boolean bool(JsonNode node, String name) {
    JsonNode field = field(node, name);
    if (!field.isBoolean()) {
      throw new IllegalArgumentException("field '" + name + "' is not true or false");
    }
    return field.booleanValue();
  }
}
