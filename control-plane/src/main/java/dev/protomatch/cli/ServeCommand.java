package dev.protomatch.cli;

import dev.protomatch.policy.PolicyError;
import dev.protomatch.policy.PolicyParser;
import dev.protomatch.policy.PolicyValidationException;
import dev.protomatch.registry.EtcdTarget;
import dev.protomatch.registry.RegistryUnavailableException;
import dev.protomatch.server.ControlPlane;
import dev.protomatch.server.ListenFailedException;
import dev.protomatch.server.ControlPlaneOptions;
import java.io.IOException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/** {@code protomatch serve}: run the control plane until SIGTERM/SIGINT. */
@Command(
    name = "serve",
    mixinStandardHelpOptions = true,
    description = {
        "Runs the control plane: xDS (ADS, state of the world and delta), registration and admin ports.",
        "Without --config it runs on built-in defaults with an in-memory registry and no services.",
        "SIGTERM drains xDS streams and exits; clients keep their last configuration."})
final class ServeCommand implements Callable<Integer> {
  @Spec
  CommandSpec spec;

  @Option(names = "--config", paramLabel = "FILE", description = "Policy file (YAML), watched for changes.")
  Path config;

  @Option(names = "--bind", defaultValue = "127.0.0.1", paramLabel = "HOST",
      description = "Address every port binds to (default: ${DEFAULT-VALUE}). Anything but loopback is exposed.")
  String bind;

  @Option(names = "--admin-bind", defaultValue = "127.0.0.1", paramLabel = "HOST",
      description = "Address of the admin port (default: ${DEFAULT-VALUE}); it shows the whole fleet, so expose it"
          + " only on purpose. POST calls need PROTOMATCH_ADMIN_TOKEN.")
  String adminBind;

  @Option(names = "--xds-port", defaultValue = "18000", paramLabel = "PORT", description = "Default: ${DEFAULT-VALUE}")
  int xdsPort;

  @Option(names = "--registration-port", defaultValue = "18001", paramLabel = "PORT",
      description = "Default: ${DEFAULT-VALUE}")
  int registrationPort;

  @Option(names = "--admin-port", defaultValue = "18002", paramLabel = "PORT", description = "Default: ${DEFAULT-VALUE}")
  int adminPort;

  @Option(names = "--envoy-listener", defaultValue = "127.0.0.1:15001", paramLabel = "HOST:PORT",
      description = "Where Envoy sidecars listen for their application's gRPC calls (default: ${DEFAULT-VALUE}).")
  String envoyListener;

  @Option(names = "--warmup-seconds", defaultValue = "-1", paramLabel = "N",
      description = "Collect registrations this long before the first push (default: one settings.lease.default-ttl,"
          + " so a restarted control plane never pushes an empty registry).")
  int warmupSeconds;

  @Option(names = "--registry", paramLabel = "URL",
      description = "Share the registry with other replicas through etcd: etcd://HOST:PORT[,HOST:PORT...], or"
          + " etcds://...[?ca=CA.pem] for TLS. Default: an in-memory registry of this process only.")
  String registry;

  @Option(names = "--replica-id", paramLabel = "NAME",
      description = "This replica's name among those sharing --registry (default: host name and process id).")
  String replicaId;

  @Option(names = "--tls-cert", paramLabel = "PEM", description = "Serve xDS and registration over TLS with this chain.")
  Path tlsCert;

  @Option(names = "--tls-key", paramLabel = "PEM", description = "Private key for --tls-cert.")
  Path tlsKey;

  @Option(names = "--tls-client-ca", paramLabel = "PEM", description = "Require client certificates from this CA (mTLS).")
  Path tlsClientCa;

  /** The options this command line asks for; validated here, at the edge. */
  ControlPlaneOptions options() {
    int colon = envoyListener.lastIndexOf(':');
    if (colon < 1) {
      throw new UserInputException("--envoy-listener: expected HOST:PORT, got '" + envoyListener + "'");
    }
    if ((tlsCert == null) != (tlsKey == null) || (tlsClientCa != null && tlsCert == null)) {
      throw new UserInputException("--tls-cert and --tls-key go together (and --tls-client-ca needs both)");
    }
    readable("--tls-cert", tlsCert);
    readable("--tls-key", tlsKey);
    readable("--tls-client-ca", tlsClientCa);
    if (tlsCert != null && tlsKey != null) {
      checkTls(tlsCert, tlsKey, tlsClientCa);
    }
    Optional<ControlPlaneOptions.TlsFiles> tls = tlsCert == null ? Optional.empty()
        : Optional.of(new ControlPlaneOptions.TlsFiles(tlsCert, tlsKey, Optional.ofNullable(tlsClientCa)));
    return new ControlPlaneOptions(bind, adminBind, xdsPort, registrationPort, adminPort,
        Optional.ofNullable(config), envoyListener.substring(0, colon),
        Integer.parseInt(envoyListener.substring(colon + 1)), tls, Duration.ofMillis(50), Duration.ofSeconds(1),
        warmupSeconds < 0 ? Optional.empty() : Optional.of(Duration.ofSeconds(warmupSeconds)), etcd(),
        replicaId == null ? ControlPlaneOptions.defaultReplicaId() : replicaId);
  }

  /**
   * Builds the TLS context the xDS and registration ports will use, so a file that is not a PEM certificate
   * chain, key or CA bundle is one line here instead of a stack trace when the port starts.
   */
  private static void checkTls(Path cert, Path key, Path clientCa) {
    try {
      var context = io.grpc.netty.shaded.io.netty.handler.ssl.SslContextBuilder.forServer(cert.toFile(), key.toFile());
      if (clientCa != null) {
        context.trustManager(clientCa.toFile());
      }
      io.grpc.netty.shaded.io.grpc.netty.GrpcSslContexts.configure(context).build();
    } catch (IllegalArgumentException | javax.net.ssl.SSLException e) {
      throw new UserInputException("--tls-cert " + cert + " / --tls-key " + key
          + (clientCa == null ? "" : " / --tls-client-ca " + clientCa) + ": " + rootMessage(e));
    }
  }

  private static String rootMessage(Throwable e) {
    Throwable root = e;
    while (root.getCause() != null && root.getCause() != root && root.getCause().getMessage() != null) {
      root = root.getCause();
    }
    return root.getMessage() == null ? root.getClass().getSimpleName()
        : root.getMessage().lines().findFirst().orElse("");
  }

  private static void readable(String option, Path file) {
    if (file != null) {
      InputFiles.read(file, option.substring(2) + " file"); // one line naming the file if it cannot be read
    }
  }

  private Optional<EtcdTarget> etcd() {
    if (registry == null || registry.equals("memory")) {
      return Optional.empty();
    }
    EtcdTarget target;
    try {
      target = EtcdTarget.parse(registry);
    } catch (IllegalArgumentException e) {
      throw new UserInputException("--registry: " + e.getMessage());
    }
    target.caFile().filter(ca -> !java.nio.file.Files.isReadable(ca)).ifPresent(ca -> {
      throw new UserInputException("--registry: cannot read the CA file " + ca);
    });
    return Optional.of(target);
  }

  @Override
  public Integer call() throws Exception {
    ControlPlaneOptions options = options();
    if (config != null && !printPolicyErrors(checkPolicy(config))) {
      return Main.EXIT_USER_ERROR;
    }
    ControlPlane controlPlane;
    try {
      controlPlane = ControlPlane.start(options, dev.protomatch.util.MonotonicClock.startingNow(), System::getenv);
    } catch (ControlPlane.InvalidPolicyException e) { // the file changed since checkPolicy read it
      printPolicyErrors(e.errors());
      return Main.EXIT_USER_ERROR;
    } catch (RegistryUnavailableException e) {
      throw new UserInputException(e.getMessage());
    } catch (ListenFailedException e) {
      throw new UserInputException(e.getMessage() + (e.getMessage().endsWith("Address already in use")
          ? " (another protomatch running? choose ports with --xds-port/--registration-port/--admin-port)" : ""));
    }
    CountDownLatch stopped = new CountDownLatch(1);
    Runtime.getRuntime().addShutdownHook(new Thread(() -> {
      controlPlane.close();
      stopped.countDown();
    }, "protomatch-shutdown"));
    stopped.await();
    return 0;
  }

  /**
   * The policy file's errors, checked as the control plane will load it, before anything starts: a bad file
   * is then reported once, here, instead of also by the policy file watcher's log.
   */
  static List<PolicyError> checkPolicy(Path file) {
    byte[] content = InputFiles.read(file, "policy file");
    try {
      new PolicyParser(System::getenv, java.nio.file.Files::isReadable).parse(file.toString(), content);
      return List.of();
    } catch (PolicyValidationException e) {
      return e.errors();
    }
  }

  /** Prints each error on a line of its own; true when there is none. */
  private boolean printPolicyErrors(List<PolicyError> errors) {
    for (PolicyError error : errors) {
      spec.commandLine().getErr().println(error);
    }
    spec.commandLine().getErr().flush();
    return errors.isEmpty();
  }
}
