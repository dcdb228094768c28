package dev.protomatch.registry;

/** Where an endpoint listens; its identity in the registry (one registration per address). */
public record EndpointAddress(String host, int port) implements Comparable<EndpointAddress> {
  @Override
  public int compareTo(EndpointAddress other) {
    int byHost = host.compareTo(other.host);
    return byHost != 0 ? byHost : Integer.compare(port, other.port);
  }

  @Override
  public String toString() {
    return host.contains(":") ? "[" + host + "]:" + port : host + ":" + port;
  }
}
