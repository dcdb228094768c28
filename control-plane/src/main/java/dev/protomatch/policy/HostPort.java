package dev.protomatch.policy;

import java.util.regex.Matcher;
import java.util.regex.Pattern;

/** A {@code host:port} endpoint address; validated where it is parsed. */
public record HostPort(String host, int port) {
  private static final Pattern BRACKETED_IPV6 = Pattern.compile("\\[([0-9A-Fa-f:.]*:[0-9A-Fa-f:.]*)\\]:([0-9]+)");
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
    if (!m.matches()) {
      m = HOST_NAME_OR_IPV4.matcher(text);
    }
    if (!m.matches()) {
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

  @Override
  public String toString() {
    return host.contains(":") ? "[" + host + "]:" + port : host + ":" + port;
  }
}
