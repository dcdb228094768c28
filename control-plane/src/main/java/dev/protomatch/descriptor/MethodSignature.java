package dev.protomatch.descriptor;

/**
 * What a caller of one method depends on to avoid UNIMPLEMENTED: the method's name, its request and
 * response message full names and its streaming shape.
 */
public record MethodSignature(
    String name, String inputType, String outputType, boolean clientStreaming, boolean serverStreaming) {

  /** {@code unary}, {@code client_streaming}, {@code server_streaming} or {@code bidi_streaming}. */
  public String streamingKind() {
    if (clientStreaming && serverStreaming) {
      return "bidi_streaming";
    }
    if (clientStreaming) {
      return "client_streaming";
    }
    return serverStreaming ? "server_streaming" : "unary";
  }
}
