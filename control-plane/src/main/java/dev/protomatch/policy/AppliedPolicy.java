package dev.protomatch.policy;

import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.time.Instant;
import java.util.HexFormat;

/**
 * The policy in force and where it came from, so that logs, admin views and xDS versions can say which
 * edit of which file is being enforced.
 *
 * @param document the validated policy
 * @param source the file it was read from ({@link PolicyStore#BUILT_IN} before any file was applied)
 * @param version 0 for the built-in defaults, then one more for each accepted change
 * @param loadedAt when this version was applied
 * @param sha256 lower-case hex SHA-256 of the file's bytes (of no bytes for the built-in defaults, which
 *     mean the same as an empty file)
 */
public record AppliedPolicy(PolicyDocument document, String source, long version, Instant loadedAt, String sha256) {

  /** Lower-case hex SHA-256 of {@code content}. */
  static String sha256Of(byte[] content) {
    try {
      return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(content));
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException("every Java platform must provide SHA-256", e);
    }
  }
}
