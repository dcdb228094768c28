package dev.protomatch.cli;

/**
 * Input the operator got wrong (an unreadable path, an unknown name). The CLI prints the message on one
 * line and exits with {@link Main#EXIT_USER_ERROR}, never with a stack trace.
 */
public final class UserInputException extends RuntimeException {
  private static final long serialVersionUID = 1L;

  public UserInputException(String message) {
    super(message, null, false, false);
  }
}
