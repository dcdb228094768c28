package dev.protomatch.registration;

import dev.protomatch.api.v1.Endpoint;
import dev.protomatch.api.v1.RegisterRequest;
import dev.protomatch.api.v1.ServiceAdvertisement;
import dev.protomatch.descriptor.DescriptorHash;
import dev.protomatch.descriptor.DescriptorHasher;
import dev.protomatch.descriptor.HashLevel;
import dev.protomatch.descriptor.InvalidDescriptorException;
import dev.protomatch.descriptor.ServiceFingerprint;
import dev.protomatch.policy.Settings;
import dev.protomatch.registry.Advertisement;
import dev.protomatch.registry.EndpointAddress;
import dev.protomatch.registry.EndpointRegistration;
import dev.protomatch.registry.IpLiterals;
import dev.protomatch.registry.Locality;
import dev.protomatch.util.ClientText;
import io.grpc.Status;
import io.grpc.StatusException;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.regex.Pattern;

/**
 * Turns a wire {@link RegisterRequest} into a trusted {@link EndpointRegistration}, or refuses it with a
 * status whose description names the field (as a path into the request) and what was expected.
 *
 * <p>Every string and map a registrant sends is bounded here, so that what the registry keeps per endpoint is
 * small whatever the message size allows: at most {@link #MAX_LABELS} labels with keys of 1..{@link
 * #MAX_LABEL_KEY} and values of at most {@link #MAX_LABEL_VALUE} characters, locality fields and service
 * names of at most {@link #MAX_NAME} characters (the host is an IP literal, so bounded already).
 */
final class RegistrationValidator {
  static final int MAX_LABELS = 64;
  static final int MAX_LABEL_KEY = 253;
  static final int MAX_LABEL_VALUE = 253;
  static final int MAX_NAME = 253;
  private static final Pattern FULL_NAME = Pattern.compile("[A-Za-z_][A-Za-z0-9_]*(\\.[A-Za-z_][A-Za-z0-9_]*)*");

  private final DescriptorHasher hasher;

  RegistrationValidator(DescriptorHasher hasher) {
    this.hasher = hasher;
  }

  EndpointRegistration validate(RegisterRequest request, String client, Settings.Limits limits) throws StatusException {
    if (!request.hasEndpoint()) {
      throw invalid("endpoint is required");
    }
    if (request.hasTtl() && !com.google.protobuf.util.Durations.isValid(request.getTtl())) {
      throw invalid("ttl: not a valid duration (seconds " + request.getTtl().getSeconds() + ", nanos "
          + request.getTtl().getNanos() + "; both must have the same sign and nanos at most 999,999,999)");
    }
    Endpoint endpoint = request.getEndpoint();
    if (endpoint.getHost().isBlank()) {
      throw invalid("endpoint.host is required");
    }
    if (endpoint.getHost().length() > MAX_NAME) {
      throw invalid("endpoint.host: " + endpoint.getHost().length() + " characters is not an IP address");
    }
    if (endpoint.getPort() < 1 || endpoint.getPort() > 65535) {
      throw invalid("endpoint.port must be within 1..65535, got " + Integer.toUnsignedString(endpoint.getPort()));
    }
    EndpointAddress address = new EndpointAddress(host(endpoint.getHost()), endpoint.getPort());
    long weight = endpoint.getWeight() == 0 ? 1 : Integer.toUnsignedLong(endpoint.getWeight());
    if (weight > limits.maxWeight()) {
      throw invalid("endpoint.weight must be within 1.." + limits.maxWeight() + " (0 means 1; settings.limits"
          + ".max-weight), got " + weight);
    }
    if (endpoint.getServicesCount() == 0) {
      throw invalid("endpoint.services must list at least one service");
    }
    if (endpoint.getServicesCount() > limits.maxServicesPerEndpoint()) {
      throw Status.RESOURCE_EXHAUSTED.withDescription("endpoint " + address + " advertises "
          + endpoint.getServicesCount() + " services; the limit is " + limits.maxServicesPerEndpoint()
          + " (settings.limits.max-services-per-endpoint)").asException();
    }
    List<Advertisement> advertisements = new ArrayList<>();
    Set<String> seen = new HashSet<>();
    for (int i = 0; i < endpoint.getServicesCount(); i++) {
      Advertisement advertisement = advertisement(endpoint.getServices(i), "endpoint.services[" + i + "]");
      if (!seen.add(advertisement.service())) {
        throw invalid("endpoint.services[" + i + "].name: service " + advertisement.service() + " is listed twice");
      }
      advertisements.add(advertisement);
    }
    labels(endpoint);
    bounded(endpoint.getLocality().getRegion(), "endpoint.locality.region");
    bounded(endpoint.getLocality().getZone(), "endpoint.locality.zone");
    bounded(endpoint.getLocality().getSubZone(), "endpoint.locality.sub_zone");
    Locality locality = new Locality(endpoint.getLocality().getRegion(), endpoint.getLocality().getZone(),
        endpoint.getLocality().getSubZone());
    return new EndpointRegistration(address, locality, endpoint.getLabelsMap(), (int) weight, advertisements, client);
  }

  /**
   * The canonical form of an IP literal (so {@code ::1} and {@code 0:0:0:0:0:0:0:1} are one endpoint).
   * Host names are refused rather than resolved: the address goes into EDS as is, and proxyless clients
   * accept only IP addresses there; nor can protomatch know which of a name's addresses this process is.
   */
  private static String host(String text) throws StatusException {
    String host = text.startsWith("[") && text.endsWith("]") ? text.substring(1, text.length() - 1) : text;
    if (host.indexOf('%') >= 0) {
      throw invalid("endpoint.host: '" + printable(text) + "' has a zone index; register an address other hosts can reach"
          + " (not link-local)");
    }
    Optional<String> canonical = IpLiterals.canonical(host);
    if (canonical.isEmpty()) {
      throw invalid("endpoint.host: '" + printable(text) + "' is not an IP address; register the address the process listens"
          + " on (IPv4 or IPv6 literal)");
    }
    if (canonical.get().equals("0.0.0.0") || canonical.get().equals("::")) {
      throw invalid("endpoint.host: '" + printable(text) + "' is the wildcard address; register the address clients can reach"
          + " the process at");
    }
    return canonical.get();
  }

  private static void labels(Endpoint endpoint) throws StatusException {
    if (endpoint.getLabelsCount() > MAX_LABELS) {
      throw invalid("endpoint.labels: " + endpoint.getLabelsCount() + " labels, at most " + MAX_LABELS
          + " accepted");
    }
    for (var label : new java.util.TreeMap<>(endpoint.getLabelsMap()).entrySet()) {
      String key = label.getKey();
      if (key.isEmpty() || key.length() > MAX_LABEL_KEY) {
        throw invalid("endpoint.labels: a key must have 1.." + MAX_LABEL_KEY + " characters, got one of "
            + key.length());
      }
      if (label.getValue().length() > MAX_LABEL_VALUE) {
        throw invalid("endpoint.labels[" + printable(key) + "]: a value must have at most " + MAX_LABEL_VALUE
            + " characters, got " + label.getValue().length());
      }
    }
  }

  private static void bounded(String text, String path) throws StatusException {
    if (text.length() > MAX_NAME) {
      throw invalid(path + ": at most " + MAX_NAME + " characters, got " + text.length());
    }
  }

  /** A registrant's text quoted in a refusal: control characters escaped, so it cannot forge log lines. */
  private static String printable(String text) {
    return ClientText.escape(text);
  }

  private Advertisement advertisement(ServiceAdvertisement service, String path) throws StatusException {
    if (service.getName().length() > MAX_NAME) {
      throw invalid(path + ".name: at most " + MAX_NAME + " characters, got " + service.getName().length());
    }
    if (!FULL_NAME.matcher(service.getName()).matches()) {
      throw invalid(path + ".name: expected a full service name such as demo.Greeter, got '" + printable(service.getName()) + "'");
    }
    Optional<DescriptorHash> api = hash(service.getApiHash(), path + ".api_hash");
    Optional<DescriptorHash> schema = hash(service.getSchemaHash(), path + ".schema_hash");
    if (service.getFileDescriptorSet().isEmpty()) {
      if (api.isEmpty() && schema.isEmpty()) {
        throw invalid(path + ": set api_hash, schema_hash or file_descriptor_set");
      }
      return new Advertisement(service.getName(), api, schema, Optional.empty());
    }
    ServiceFingerprint fingerprint;
    try {
      fingerprint = hasher.fingerprint(service.getFileDescriptorSet().toByteArray(), path + ".file_descriptor_set")
          .service(service.getName(), path + ".file_descriptor_set");
    } catch (InvalidDescriptorException e) {
      throw invalid(e.getMessage());
    }
    for (HashLevel level : HashLevel.values()) {
      Optional<DescriptorHash> claimed = level == HashLevel.API ? api : schema;
      if (claimed.isPresent() && !claimed.get().equals(fingerprint.hash(level))) {
        throw invalid(path + "." + level.id() + "_hash " + claimed.get()
            + " does not match the attached file_descriptor_set, which hashes to " + fingerprint.hash(level));
      }
    }
    return Advertisement.of(fingerprint);
  }

  private static Optional<DescriptorHash> hash(String text, String path) throws StatusException {
    if (text.isEmpty()) {
      return Optional.empty();
    }
    if (text.length() > MAX_NAME) {
      throw invalid(path + ": " + text.length() + " characters is not a descriptor hash");
    }
    try {
      return Optional.of(DescriptorHash.parse(text));
    } catch (IllegalArgumentException e) {
      throw invalid(path + ": " + printable(e.getMessage()));
    }
  }

  private static StatusException invalid(String description) {
    return Status.INVALID_ARGUMENT.withDescription(description).asException();
  }
}
