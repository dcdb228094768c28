package dev.protomatch.descriptor;

import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import java.util.regex.Pattern;

/**
 * A descriptor hash in its self-describing text form, {@code sha256:<64 lower-case hex digits>}.
 *
 * <p>The algorithm prefix lets a later format coexist with this one in config files and registrations
 * without ambiguity; today only {@code sha256} exists.
 */
public record DescriptorHash(String value) implements Comparable<DescriptorHash> {
  private static final String PREFIX = "sha256:";
  private static final Pattern FORMAT = Pattern.compile("sha256:[0-9a-f]{64}");

  public DescriptorHash {
    if (value == null || !FORMAT.matcher(value).matches()) {
      throw new IllegalArgumentException(
          "malformed descriptor hash '" + value + "' (expected sha256: followed by 64 lower-case hex digits)");
    }
  }

  /** Parses the text form; the exception message says what was expected. */
  public static DescriptorHash parse(String text) {
    return new DescriptorHash(text);
  }

  /** Hashes a canonical form (see {@link CanonicalForm}). */
  static DescriptorHash ofCanonicalText(String canonicalText) {
    return new DescriptorHash(PREFIX + HexFormat.of().formatHex(
        sha256().digest(canonicalText.getBytes(StandardCharsets.UTF_8))));
  }

  /** The first {@code n} hex digits with the prefix, for log lines and tables. */
  public String abbreviated(int n) {
    return value.substring(0, Math.min(value.length(), PREFIX.length() + n));
  }

  @Override
  public int compareTo(DescriptorHash other) {
    return value.compareTo(other.value);
  }

  @Override
  public String toString() {
    return value;
  }

  static MessageDigest sha256() {
    try {
      return MessageDigest.getInstance("SHA-256");
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException("every Java platform must provide SHA-256", e);
    }
  }
}
