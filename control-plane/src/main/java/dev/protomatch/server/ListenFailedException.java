package dev.protomatch.server;

import java.io.IOException;
import java.net.InetSocketAddress;

/** A port could not be opened (in use, or not an address of this machine); its message is one line for the user. */
public final class ListenFailedException extends IOException {
  private static final long serialVersionUID = 1L;

  ListenFailedException(String port, InetSocketAddress address, IOException cause) {
    super("cannot listen on " + address.getHostString() + ":" + address.getPort() + " (" + port + " port): "
        + rootMessage(cause), cause);
  }

  private static String rootMessage(Throwable e) {
    Throwable root = e;
    while (root.getCause() != null && root.getCause() != root) {
      root = root.getCause();
    }
    String message = root.getMessage() == null ? root.getClass().getSimpleName() : root.getMessage();
    return message.replaceFirst("^bind\\(\\.\\.\\) failed: ", "");
  }
}
