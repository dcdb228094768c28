package dev.protomatch.registry;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

/**
 * Where the etcd cluster is: {@code etcd://host:port[,host:port...]} (plaintext) or
 * {@code etcds://host:port[,host:port...][?ca=/path/to/ca.pem]} (TLS; without {@code ca} the JVM's default
 * trust store verifies etcd's certificate). IPv6 hosts go in brackets: {@code etcd://[::1]:2379}.
 *
 * @param hostPorts {@code host:port} texts, as given, in order
 * @param caFile the PEM file of the CA that signed etcd's certificates (TLS only)
 */
public record EtcdTarget(List<String> hostPorts, boolean tls, Optional<Path> caFile) {
  private static final String EXPECTED =
      "expected etcd://host:port[,host:port...] or etcds://host:port[,host:port...][?ca=/path/ca.pem]";

  public EtcdTarget {
    hostPorts = List.copyOf(hostPorts);
    if (hostPorts.isEmpty()) {
      throw new IllegalArgumentException("an etcd target needs at least one host:port");
    }
  }

  /**
   * Parses a registry URL.
   *
   * @throws IllegalArgumentException with one line saying what is wrong in {@code url} and what was expected
   */
  public static EtcdTarget parse(String url) {
    boolean tls;
    String rest;
    if (url.startsWith("etcd://")) {
      tls = false;
      rest = url.substring("etcd://".length());
    } else if (url.startsWith("etcds://")) {
      tls = true;
      rest = url.substring("etcds://".length());
    } else {
      throw malformed(url, "unknown scheme");
    }
    Optional<Path> caFile = Optional.empty();
    int query = rest.indexOf('?');
    if (query >= 0) {
      String parameter = rest.substring(query + 1);
      rest = rest.substring(0, query);
      if (!parameter.startsWith("ca=") || parameter.length() == "ca=".length() || parameter.contains("&")) {
        throw malformed(url, "the only parameter is ca=<CA file>");
      }
      if (!tls) {
        throw malformed(url, "ca= needs TLS (etcds://)");
      }
      caFile = Optional.of(Path.of(parameter.substring("ca=".length())));
    }
    if (rest.endsWith("/")) {
      rest = rest.substring(0, rest.length() - 1);
    }
    List<String> hostPorts = new ArrayList<>();
    for (String hostPort : rest.split(",", -1)) {
      hostPorts.add(checkHostPort(url, hostPort));
    }
    return new EtcdTarget(hostPorts, tls, caFile);
  }

  /** {@code http://host:port} or {@code https://host:port} per member, for the etcd client. */
  public List<String> clientUris() {
    return hostPorts.stream().map(hostPort -> (tls ? "https://" : "http://") + hostPort).toList();
  }

  /** The members as given, comma-separated, for messages. */
  public String describe() {
    return String.join(",", hostPorts);
  }

  @Override
  public String toString() {
    return (tls ? "etcds://" : "etcd://") + describe() + caFile.map(ca -> "?ca=" + ca).orElse("");
  }

  private static String checkHostPort(String url, String hostPort) {
    if (hostPort.isEmpty()) {
      throw malformed(url, "empty host:port");
    }
    int colon = hostPort.lastIndexOf(':');
    if (colon <= 0 || colon == hostPort.length() - 1) {
      throw malformed(url, "'" + hostPort + "' has no port");
    }
    String host = hostPort.substring(0, colon);
    if (host.startsWith("[") != host.endsWith("]") || (!host.startsWith("[") && host.contains(":"))) {
      throw malformed(url, "'" + hostPort + "': an IPv6 host goes in brackets, e.g. [::1]:2379");
    }
    if (host.equals("[]") || host.contains("/") || host.contains("@")) {
      throw malformed(url, "'" + hostPort + "' is not host:port");
    }
    String port = hostPort.substring(colon + 1);
    int number;
    try {
      number = Integer.parseInt(port);
    } catch (NumberFormatException e) {
      throw malformed(url, "port '" + port + "' is not a number");
    }
    if (number < 1 || number > 65535) {
      throw malformed(url, "port " + number + " is outside 1..65535");
    }
    return hostPort;
  }

  private static IllegalArgumentException malformed(String url, String what) {
    return new IllegalArgumentException("malformed etcd registry URL '" + url + "': " + what + " (" + EXPECTED + ")");
  }
}
