package dev.protomatch.server;

import dev.protomatch.registry.EtcdTarget;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Optional;

/**
 * How to run a control plane: where to listen, which policy file, TLS. Port 0 picks a free port.
 *
 * @param adminBindHost the admin port's address: loopback unless the operator explicitly says otherwise,
 *     whatever {@code bindHost} is, because the views show the whole fleet
 * @param policyFile empty runs on the built-in defaults (no services until a file is given)
 * @param tls when present, every port (xDS, registration) requires TLS, and mTLS if a client CA is given
 * @param warmup how long to collect registrations before publishing the first snapshot. A restarted control
 *     plane starts with an empty registry; publishing at once would hand every client an empty assignment.
 *     Within one lease TTL every live agent renews, learns its lease is unknown, and registers again. Empty
 *     means one {@code settings.lease.default-ttl} with the in-memory registry, and none with etcd (whose state
 *     outlives this process); zero publishes at once (a first start with no clients).
 * @param etcd where the shared registry lives; empty for the embedded in-memory registry
 * @param replicaId this replica's name among those sharing an etcd registry (probe leadership, replica views)
 */
public record ControlPlaneOptions(
    String bindHost, String adminBindHost, int xdsPort, int registrationPort, int adminPort, Optional<Path> policyFile,
    String envoyListenerHost, int envoyListenerPort, Optional<TlsFiles> tls, Duration debounce,
    Duration policyPollInterval, Optional<Duration> warmup, Optional<EtcdTarget> etcd, String replicaId) {

  /** PEM files: the server's certificate chain and key, and optionally the CA that client certificates must chain to. */
  public record TlsFiles(Path certificateChain, Path privateKey, Optional<Path> clientCa) {}

  public static ControlPlaneOptions loopbackDefaults(Optional<Path> policyFile) {
    return new ControlPlaneOptions("127.0.0.1", "127.0.0.1", 18000, 18001, 18002, policyFile, "127.0.0.1", 15001,
        Optional.empty(), Duration.ofMillis(50), Duration.ofSeconds(1), Optional.of(Duration.ZERO), Optional.empty(),
        defaultReplicaId());
  }

  /** The host name and process id: unique among replicas without configuration. */
  public static String defaultReplicaId() {
    String host;
    try {
      host = java.net.InetAddress.getLocalHost().getHostName();
    } catch (java.net.UnknownHostException e) {
      host = "localhost";
    }
    return host + "-" + ProcessHandle.current().pid();
  }

  public ControlPlaneOptions withPorts(int xds, int registration, int admin) {
    return new ControlPlaneOptions(bindHost, adminBindHost, xds, registration, admin, policyFile, envoyListenerHost, envoyListenerPort,
        tls, debounce, policyPollInterval, warmup, etcd, replicaId);
  }

  public ControlPlaneOptions withWarmup(Optional<Duration> newWarmup) {
    return new ControlPlaneOptions(bindHost, adminBindHost, xdsPort, registrationPort, adminPort, policyFile,
        envoyListenerHost, envoyListenerPort, tls, debounce, policyPollInterval, newWarmup, etcd, replicaId);
  }

  /** The same options on a registry in etcd, as replica {@code id}. */
  public ControlPlaneOptions withEtcd(EtcdTarget target, String id) {
    return new ControlPlaneOptions(bindHost, adminBindHost, xdsPort, registrationPort, adminPort, policyFile,
        envoyListenerHost, envoyListenerPort, tls, debounce, policyPollInterval, warmup, Optional.of(target), id);
  }
}
