package dev.protomatch.registry;

import com.google.common.net.InetAddresses;
import java.net.InetAddress;
import java.net.UnknownHostException;
import java.util.Optional;

/**
 * The one text form of an IP address that protomatch keys endpoints by and publishes in EDS: IPv4 in
 * dotted decimal, IPv6 in RFC 5952's canonical form ({@code ::1}, lower case, longest zero run
 * compressed), IPv4-mapped IPv6 as the IPv4 address, never a zone index. Two spellings of one address
 * therefore give one {@link EndpointAddress}.
 *
 * <p>Parsing is strict and never looks anything up: a host name is not an IP literal, and neither are
 * the legacy forms {@code 10.1} or {@code 010.0.0.1}, which some resolvers read as addresses and others
 * as names.
 */
public final class IpLiterals {
  private IpLiterals() {}

  /** The canonical form of {@code text} if it is an IPv4 or IPv6 literal without brackets or zone; else empty. */
  public static Optional<String> canonical(String text) {
    if (text.indexOf('%') >= 0 || !InetAddresses.isInetAddress(text)) {
      return Optional.empty();
    }
    return Optional.of(canonical(InetAddresses.forString(text)));
  }

  /** The canonical form of a resolved address (any zone index it carries is dropped). */
  public static String canonical(InetAddress address) {
    try {
      return InetAddresses.toAddrString(InetAddress.getByAddress(address.getAddress()));
    } catch (UnknownHostException e) {
      throw new IllegalArgumentException("not a 4- or 16-byte address: " + address, e); // cannot happen
    }
  }
}
