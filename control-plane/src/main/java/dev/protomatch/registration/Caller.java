package dev.protomatch.registration;

import java.net.InetAddress;
import java.util.List;
import java.util.Optional;

/**
 * Who made a registration call, as the transport saw it.
 *
 * @param peer the IP address the call came from; empty for transports without one (in-process, Unix
 *     sockets), which only local processes can reach
 * @param certificateIdentities with mTLS: the client certificate's URI SANs, then its DNS SANs; else empty
 */
public record Caller(Optional<InetAddress> peer, List<String> certificateIdentities) {
  public Caller {
    certificateIdentities = List.copyOf(certificateIdentities);
  }

  /** The peer address as text, or {@code "local"} without one. */
  public String peerText() {
    return peer.map(InetAddress::getHostAddress).orElse("local");
  }

  /** Whether the call came from this machine: a loopback peer, or a transport without an IP address. */
  public boolean isLocal() {
    return peer.map(InetAddress::isLoopbackAddress).orElse(true);
  }
}
