package dev.protomatch.descriptor;

/**
 * Descriptor input that cannot be hashed: not a FileDescriptorSet, a missing import, an invalid file, an
 * unknown service. The message is meant for the operator as is: it says what is wrong and where.
 */
public final class InvalidDescriptorException extends RuntimeException {
  private static final long serialVersionUID = 1L;

  public InvalidDescriptorException(String message) {
    super(message, null, false, false);
  }
}
