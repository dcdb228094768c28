package dev.protomatch.policy;

/** A {@code host:port} endpoint address; validated where it is parsed. */
public record HostPort(String host, int port) {
  @Override
  public String toString() {
    return host.contains(":") ? "[" + host + "]:" + port : host + ":" + port;
  }
}
