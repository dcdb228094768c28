package dev.protomatch.registry;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.time.Instant;
import java.time.format.DateTimeParseException;
import java.util.Optional;

/**
 * What one replica tells the others about itself, kept in etcd under {@code <prefix>replicas/<id>} by
 * {@link ReplicaDirectory}: its name, the policy it enforces and since when it runs.
 *
 * @param id the replica's name ({@code serve --replica-id}), unique among the replicas of one prefix
 * @param policySha256 lower-case hex SHA-256 of its policy file (replicas that differ here decide differently)
 * @param policyVersion its local policy version (0 for built-in defaults, one more per accepted change)
 * @param startedAt when the replica started
 * @param xdsAddress where it serves xDS, {@code host:port}, when known
 * @param adminAddress where its admin port is, {@code host:port}, when known
 */
public record ReplicaRecord(String id, String policySha256, long policyVersion, Instant startedAt,
                            Optional<String> xdsAddress, Optional<String> adminAddress) {
  private static final ObjectMapper JSON = new ObjectMapper();

  public ReplicaRecord {
    if (id.isBlank()) {
      throw new IllegalArgumentException("a replica id must not be blank");
    }
  }

  /** The JSON stored in etcd; fields in a fixed order, so equal records encode to equal bytes. */
  public byte[] encode() {
    ObjectNode root = JSON.createObjectNode();
    root.put("id", id);
    root.put("policy_sha256", policySha256);
    root.put("policy_version", policyVersion);
    root.put("started_at", startedAt.toString());
    xdsAddress.ifPresent(address -> root.put("xds_address", address));
    adminAddress.ifPresent(address -> root.put("admin_address", address));
    try {
      return JSON.writeValueAsBytes(root);
    } catch (JsonProcessingException e) {
      throw new IllegalStateException("a tree of strings and numbers always serializes", e);
    }
  }

  /**
   * Reads what {@link #encode} wrote.
   *
   * @throws IllegalArgumentException naming what is wrong if {@code value} is not such a record
   */
  public static ReplicaRecord decode(byte[] value) {
    JsonNode root;
    try {
      root = JSON.readTree(value);
    } catch (JsonProcessingException e) {
      throw new IllegalArgumentException("not a replica record (invalid JSON: " + e.getOriginalMessage() + ")");
    } catch (IOException e) {
      throw new IllegalArgumentException("not a replica record (" + e.getMessage() + ")");
    }
    if (root == null || !root.isObject()) {
      throw new IllegalArgumentException("not a replica record (not a JSON object)");
    }
    try {
      return new ReplicaRecord(text(root, "id"), text(root, "policy_sha256"),
          number(root, "policy_version"), Instant.parse(text(root, "started_at")),
          optionalText(root, "xds_address"), optionalText(root, "admin_address"));
    } catch (DateTimeParseException e) {
      throw new IllegalArgumentException("replica record: started_at is not an instant: " + e.getParsedString());
    }
  }

  private static String text(JsonNode root, String field) {
    JsonNode node = root.get(field);
    if (node == null || !node.isTextual()) {
      throw new IllegalArgumentException("replica record: " + field + " is missing or not a string");
    }
    return node.asText();
  }

  private static long number(JsonNode root, String field) {
    JsonNode node = root.get(field);
    if (node == null || !node.canConvertToLong()) {
      throw new IllegalArgumentException("replica record: " + field + " is missing or not an integer");
    }
    return node.asLong();
  }

  private static Optional<String> optionalText(JsonNode root, String field) {
    JsonNode node = root.get(field);
    return node == null || !node.isTextual() ? Optional.empty() : Optional.of(node.asText());
  }
}
