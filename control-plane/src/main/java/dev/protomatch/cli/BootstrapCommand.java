package dev.protomatch.cli;

import dev.protomatch.bootstrap.Bootstraps;
import dev.protomatch.policy.HostPort;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/** {@code protomatch bootstrap}: prints the bootstrap a proxyless gRPC client or an Envoy sidecar needs. */
@Command(
    name = "bootstrap",
    mixinStandardHelpOptions = true,
    description = {
        "Prints a bootstrap that connects a client to protomatch's xDS port.",
        "proxyless: JSON for gRPC clients; write it to a file and point GRPC_XDS_BOOTSTRAP at it,",
        "  then dial xds:///<cluster>. envoy: YAML for an Envoy sidecar (envoy -c FILE)."})
final class BootstrapCommand implements Callable<Integer> {
  enum Kind { proxyless, envoy }

  @Spec
  CommandSpec spec;

  @Option(names = "--kind", defaultValue = "proxyless", paramLabel = "KIND",
      description = "proxyless or envoy (default: ${DEFAULT-VALUE}).")
  Kind kind;

  @Option(names = "--xds-server", defaultValue = "127.0.0.1:18000", paramLabel = "HOST:PORT",
      description = "protomatch's xDS address (default: ${DEFAULT-VALUE}).")
  String xdsServer;

  @Option(names = "--node-id", required = true, paramLabel = "ID",
      description = "This client's id, unique per process or proxy (e.g. the pod name).")
  String nodeId;

  @Option(names = "--node-cluster", defaultValue = "default", paramLabel = "NAME",
      description = "The service this client belongs to, shared by its replicas (default: ${DEFAULT-VALUE}).")
  String nodeCluster;

  /** The {@code --xds-server HOST:PORT} option's value (an IPv6 host in brackets), or one line saying what it wants. */
  static HostPort xdsServer(String text) {
    try {
      return HostPort.parse(text);
    } catch (IllegalArgumentException e) {
      throw new UserInputException("--xds-server: expected HOST:PORT, got '" + text + "'");
    }
  }

  @Override
  public Integer call() {
    HostPort server = xdsServer(xdsServer);
    Bootstraps.Target target = new Bootstraps.Target(server.host(), server.port(), nodeId, nodeCluster);
    spec.commandLine().getOut().print(kind == Kind.envoy ? Bootstraps.envoy(target) : Bootstraps.proxyless(target));
    spec.commandLine().getOut().flush();
    return 0;
  }
}
