package dev.protomatch.util;

/**
 * Text a client chose (a NACK's error detail, a node id, a registrant's host or label) made safe to print in a
 * log line, a terminal or a view: control characters escaped as {@code \\uXXXX}, so it cannot forge lines or
 * send terminal escapes, and cut to a length of our choosing, saying how much was left out.
 */
public final class ClientText {
  /** How much of a NACK's error detail is kept: Envoy's and gRPC's messages fit with room to spare. */
  public static final int MAX_ERROR_DETAIL = 1_024;
  /** How much of a node id, cluster or user agent name is kept. */
  public static final int MAX_NODE_FIELD = 256;

  private ClientText() {}

  /** {@code text} with control characters escaped, unabridged. */
  public static String escape(String text) {
    return clip(text, Integer.MAX_VALUE);
  }

  /**
   * {@code text} with control characters escaped, cut after {@code max} characters of the escaped form (never
   * inside an escape or a surrogate pair) with {@code " … (N more characters)"} appended, N counted in the
   * original.
   */
  public static String clip(String text, int max) {
    StringBuilder out = new StringBuilder(Math.min(text.length(), max) + 16);
    int index = 0;
    while (index < text.length()) {
      int codePoint = text.codePointAt(index);
      String piece = Character.isISOControl(codePoint)
          ? String.format("\\u%04x", codePoint) : new String(Character.toChars(codePoint));
      if (out.length() + piece.length() > max) {
        return out + " … (" + (text.length() - index) + " more characters)";
      }
      out.append(piece);
      index += Character.charCount(codePoint);
    }
    return out.toString();
  }
}
