package dev.protomatch.staticendpoints;

import java.net.InetAddress;
import java.net.UnknownHostException;
import java.util.List;

/**
 * Looks up the addresses of a host name. Injected into {@link StaticEndpointResolver} so tests decide
 * what names resolve to, and when, without DNS.
 */
@FunctionalInterface
public interface HostResolver {

  /**
   * Every address {@code host} has now, in any order; blocking is allowed (it runs on the resolver's own
   * thread).
   *
   * @throws UnknownHostException if the name cannot be resolved (no such name, no answer)
   */
  List<InetAddress> resolve(String host) throws UnknownHostException;

  /**
   * The JDK's resolver ({@link InetAddress#getAllByName}): the system's configuration ({@code /etc/hosts},
   * DNS), with the JDK's cache ({@code networkaddress.cache.ttl}, 30 s by default; failures 10 s).
   */
  static HostResolver system() {
    return host -> List.of(InetAddress.getAllByName(host));
  }
}
