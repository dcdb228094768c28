package dev.protomatch.descriptor;

import java.util.Locale;

/**
 * How much of a service a {@link DescriptorHash} covers. See {@code docs/descriptor-hash.md}.
 *
 * <p>{@link #API} changes exactly when a caller could get UNIMPLEMENTED (a method appeared, disappeared,
 * or changed its request/response type or streaming shape). {@link #SCHEMA} additionally changes when a
 * message reachable from a method changes shape on the wire (field numbers, names, types, cardinality,
 * oneofs, map entries, enum values).
 */
public enum HashLevel {
  API,
  SCHEMA;

  /** The lower-case name used in canonical text, CLI output and config files. */
  public String id() {
    return name().toLowerCase(Locale.ROOT);
  }

  /**
   * Parses {@code api} or {@code schema}.
   *
   * @throws IllegalArgumentException naming the accepted values
   */
  public static HashLevel parse(String id) {
    for (HashLevel level : values()) {
      if (level.id().equals(id)) {
        return level;
      }
    }
    throw new IllegalArgumentException("unknown hash level '" + id + "' (expected api or schema)");
  }
}
