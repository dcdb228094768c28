package dev.protomatch.agent;

/**
 * A TLS file given to {@link RegistrationTls} that cannot be used (missing, unreadable, not PEM, a key of another
 * certificate). The message is one line naming the file; there is no stack trace worth showing an operator.
 */
public final class TlsFileException extends RuntimeException {
  private static final long serialVersionUID = 1L;

  public TlsFileException(String message) {
    super(message, null, false, false);
  }
}
