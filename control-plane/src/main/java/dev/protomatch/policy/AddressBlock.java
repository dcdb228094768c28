package dev.protomatch.policy;

import java.net.InetAddress;
import java.net.UnknownHostException;
import java.util.Arrays;
import java.util.Optional;
import java.util.regex.Pattern;

/**
 * An IP address or a CIDR block ({@code 10.1.0.0/16}, {@code fd00::/8}) from a policy file. Immutable.
 *
 * @param text as written in the policy
 */
public record AddressBlock(String text, byte[] network, int prefixLength) {
  private static final Pattern IP_TEXT = Pattern.compile("[0-9A-Fa-f:.]+");

  public AddressBlock {
    network = network.clone();
  }

  /** {@code text} as an address block, or empty if it is not an IP literal with an optional {@code /prefix}. */
  public static Optional<AddressBlock> parse(String text) {
    int slash = text.indexOf('/');
    String ip = slash < 0 ? text : text.substring(0, slash);
    if (!IP_TEXT.matcher(ip).matches() || (ip.indexOf(':') < 0 && ip.chars().filter(c -> c == '.').count() != 3)) {
      return Optional.empty(); // a literal only: InetAddress would resolve a host name
    }
    byte[] bytes;
    try {
      bytes = InetAddress.getByName(ip).getAddress();
    } catch (UnknownHostException e) {
      return Optional.empty();
    }
    int bits = bytes.length * 8;
    int prefix = bits;
    if (slash >= 0) {
      String digits = text.substring(slash + 1);
      if (!digits.matches("[0-9]{1,3}") || Integer.parseInt(digits) > bits) {
        return Optional.empty();
      }
      prefix = Integer.parseInt(digits);
    }
    return Optional.of(new AddressBlock(text, bytes, prefix));
  }

  /** Whether {@code address} lies in this block (IPv4 and IPv6 never match each other). */
  public boolean contains(InetAddress address) {
    byte[] candidate = address.getAddress();
    if (candidate.length != network.length) {
      return false;
    }
    int full = prefixLength / 8;
    for (int i = 0; i < full; i++) {
      if (candidate[i] != network[i]) {
        return false;
      }
    }
    int rest = prefixLength % 8;
    if (rest == 0) {
      return true;
    }
    int mask = (0xff << (8 - rest)) & 0xff;
    return (candidate[full] & mask) == (network[full] & mask);
  }

  @Override
  public boolean equals(Object other) {
    return other instanceof AddressBlock block && block.prefixLength == prefixLength
        && Arrays.equals(block.network, network) && block.text.equals(text);
  }

  @Override
  public int hashCode() {
    return 31 * Arrays.hashCode(network) + prefixLength;
  }

  @Override
  public String toString() {
    return text;
  }
}
