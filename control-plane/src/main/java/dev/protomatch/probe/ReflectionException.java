package dev.protomatch.probe;

/**
 * A reflection probe that produced no usable answer. The message names the endpoint and what went wrong
 * (no reflection service, a timeout, an error answer, a malformed or incomplete answer).
 */
public final class ReflectionException extends Exception {
  private static final long serialVersionUID = 1L;

  /** Why the probe failed, for typed exclusion reasons and metrics labels. */
  public enum Kind { UNAVAILABLE, NOT_SUPPORTED, TIMEOUT, BAD_ANSWER }

  private final Kind kind;

  public ReflectionException(Kind kind, String message) {
    super(message, null, false, false);
    this.kind = kind;
  }

  public Kind kind() {
    return kind;
  }
}
