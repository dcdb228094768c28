package dev.protomatch.policy;

import java.net.InetAddress;
import java.net.UnknownHostException;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/** A {@code host:port} endpoint address; validated where it is parsed. */
public record HostPort(String host, int port) {
  private static final Pattern BRACKETED_IPV6 = Pattern.compile("\\[([0-9A-Fa-f:][0-9A-Fa-f:.]*)\\]:([0-9]+)");
  private static final Pattern HOST_NAME_OR_IPV4 = Pattern.compile(
      "([A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?(?:\\.[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)*):([0-9]+)");

  /**
   * Parses {@code 127.0.0.1:50051}, {@code [::1]:50051} or {@code svc.local:443}: a host name or IPv4
   * address, or an IPv6 address in brackets, and a port in 1..65535. IPv6 hosts are kept without brackets.
   *
   * @throws IllegalArgumentException saying what was expected
   */
  public static HostPort parse(String text) {
    Matcher m = BRACKETED_IPV6.matcher(text);
    boolean ipv6 = m.matches();
    if (!ipv6) {
      m = HOST_NAME_OR_IPV4.matcher(text);
    }
    if (!m.matches() || (ipv6 && !isIpv6Literal(m.group(1)))) {
      throw new IllegalArgumentException("malformed address '" + text
          + "' (expected host:port such as 127.0.0.1:50051, [::1]:50051 or svc.local:443)");
    }
    String digits = m.group(2);
    int port = digits.length() <= 5 ? Integer.parseInt(digits) : 0;
    if (port < 1 || port > 65_535) {
      throw new IllegalArgumentException("port " + digits + " of '" + text + "' is out of range (expected 1..65535)");
    }
    return new HostPort(m.group(1), port);
  }

  /**
   * Whether {@code host} (hex digits, colons and dots, starting with a hex digit or colon) is an IPv6
   * address. The JDK checks such a bracketed literal's format only; it never looks it up. (It returns
   * IPv4-mapped addresses such as {@code ::ffff:10.0.0.1} as IPv4, hence no type check.)
   */
  private static boolean isIpv6Literal(String host) {
    if (host.indexOf(':') < 0) {
      return false;
    }
    try {
      InetAddress.getByName("[" + host + "]");
      return true;
    } catch (UnknownHostException e) {
      return false;
    }
  }

  @Override
  public String toString() {
    return host.contains(":") ? "[" + host + "]:" + port : host + ":" + port;
  }
}
