package dev.protomatch.cli;

import com.google.protobuf.util.Durations;
import dev.protomatch.agent.RegistrationAgent;
import dev.protomatch.agent.RegistrationTls;
import dev.protomatch.agent.TlsFileException;
import dev.protomatch.api.v1.Endpoint;
import dev.protomatch.api.v1.RegisterRequest;
import dev.protomatch.api.v1.ServiceAdvertisement;
import dev.protomatch.demo.DemoGreeters;
import dev.protomatch.descriptor.RuntimeDescriptors;
import io.grpc.BindableService;
import io.grpc.ChannelCredentials;
import io.grpc.InsecureChannelCredentials;
import io.grpc.Server;
import io.grpc.StatusRuntimeException;
import io.grpc.netty.shaded.io.grpc.netty.NettyServerBuilder;
import io.grpc.protobuf.services.ProtoReflectionServiceV1;
import java.net.InetSocketAddress;
import java.nio.file.Path;
import java.util.Optional;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * {@code protomatch greeter}: one instance of the demo Greeter in build v1, v2, v2x or v3 (see
 * {@link DemoGreeters}), with reflection, and optionally registered with a control plane through a
 * {@link RegistrationAgent}. Used by the demo and the integration tests as a real process that can be
 * rolled or killed.
 */
@Command(name = "greeter", mixinStandardHelpOptions = true,
    description = "Runs a demo.Greeter server (build v1, v2, v2x or v3) on loopback; prints 'listening on HOST:PORT'.")
final class GreeterCommand implements Callable<Integer> {
  @Option(names = "--build", required = true, paramLabel = "v1|v2|v2x|v3",
      description = "Which build of demo.Greeter: v1 (SayHello), v2 (+ SayHelloAgain), v2x (v2, but SayHelloAgain "
          + "takes a HelloAgainRequest), v3 (v2 + SayGoodbye).")
  String build;

  @Option(names = "--port", defaultValue = "0", description = "Port (0: any free port).")
  int port;

  @Option(names = "--instance", defaultValue = "greeter", description = "Name shown in replies.")
  String instance;

  @Option(names = "--register", paramLabel = "HOST:PORT", description = "Register with this control plane.")
  String register;

  @Option(names = "--token-env", defaultValue = "PROTOMATCH_REGISTRATION_TOKEN",
      description = "Environment variable holding the registration token (default: ${DEFAULT-VALUE}).")
  String tokenEnv;

  @Option(names = "--registration-ca", paramLabel = "PEM",
      description = "Register over TLS, trusting this CA for the control plane's certificate (serve --tls-cert).")
  Path registrationCa;

  @Option(names = "--registration-cert", paramLabel = "PEM",
      description = "Register over mTLS with this client certificate chain (serve --tls-client-ca); without"
          + " --registration-ca the JDK's default CAs are trusted.")
  Path registrationCert;

  @Option(names = "--registration-key", paramLabel = "PEM",
      description = "Unencrypted PKCS#8 private key for --registration-cert.")
  Path registrationKey;

  @Option(names = "--ttl-seconds", defaultValue = "10", description = "Requested lease TTL.")
  int ttlSeconds;

  @Option(names = "--no-reflection", description = "Do not serve gRPC reflection.")
  boolean noReflection;

  @Option(names = "--drain-millis", defaultValue = "1500",
      description = "On SIGTERM: deregister, keep serving this long while clients learn, then stop (default: ${DEFAULT-VALUE}).")
  long drainMillis;

  @Override
  public Integer call() throws Exception {
    BindableService service = switch (build) {
      case "v1" -> DemoGreeters.v1(instance);
      case "v2" -> DemoGreeters.v2(instance);
      case "v2x" -> DemoGreeters.v2x(instance);
      case "v3" -> DemoGreeters.v3(instance);
      default -> throw new UserInputException("--build: expected v1, v2, v2x or v3, got '" + build + "'");
    };
    if (register != null && !register.matches("[^:\\s]+:\\d{1,5}|\\[[0-9a-fA-F:.]+\\]:\\d{1,5}")) {
      throw new UserInputException("--register: expected HOST:PORT, got '" + register + "'");
    }
    ChannelCredentials registrationCredentials = registrationCredentials();
    NettyServerBuilder builder = NettyServerBuilder.forAddress(new InetSocketAddress("127.0.0.1", port)).addService(service);
    if (!noReflection) {
      builder.addService(ProtoReflectionServiceV1.newInstance());
    }
    Server server;
    try {
      server = builder.build().start();
    } catch (java.io.IOException e) {
      Throwable root = e;
      while (root.getCause() != null) {
        root = root.getCause();
      }
      throw new UserInputException("--port " + port + ": cannot listen on 127.0.0.1:" + port + ": "
          + (root.getMessage() == null ? root.getClass().getSimpleName()
              : root.getMessage().replaceFirst("^bind\\(\\.\\.\\) failed: ", "")));
    }
    RegistrationAgent agent = null;
    if (register != null) {
      var file = switch (build) {
        case "v1" -> dev.protomatch.demo.v1.GreeterProto.getDescriptor();
        case "v2" -> dev.protomatch.demo.v2.GreeterProto.getDescriptor();
        case "v2x" -> dev.protomatch.demo.v2x.GreeterProto.getDescriptor();
        default -> dev.protomatch.demo.v3.GreeterProto.getDescriptor();
      };
      agent = new RegistrationAgent(register, registrationCredentials, Optional.ofNullable(System.getenv(tokenEnv)),
          RegisterRequest.newBuilder()
              .setEndpoint(Endpoint.newBuilder().setHost("127.0.0.1").setPort(server.getPort())
                  .putLabels("build", build).putLabels("instance", instance)
                  .addServices(ServiceAdvertisement.newBuilder().setName("demo.Greeter")
                      .setFileDescriptorSet(RuntimeDescriptors.fileDescriptorSet(file).toByteString())))
              .setTtl(Durations.fromSeconds(ttlSeconds))
              .build());
      try {
        agent.start();
      } catch (StatusRuntimeException e) {
        agent.close();
        server.shutdownNow();
        throw new UserInputException("--register " + register + ": cannot register: " + e.getStatus().getCode()
            + (e.getStatus().getDescription() == null ? "" : ": " + e.getStatus().getDescription()));
      }
    }
    System.out.println("greeter " + instance + " (" + build + ") listening on 127.0.0.1:" + server.getPort());
    System.out.flush();
    RegistrationAgent registered = agent;
    CountDownLatch stopped = new CountDownLatch(1);
    Runtime.getRuntime().addShutdownHook(new Thread(() -> {
      // Graceful: leave the assignment first, keep answering while clients receive the update, then stop.
      if (registered != null) {
        registered.close();
        try {
          Thread.sleep(drainMillis);
        } catch (InterruptedException e) {
          Thread.currentThread().interrupt();
        }
      }
      server.shutdown();
      try {
        server.awaitTermination(5, java.util.concurrent.TimeUnit.SECONDS);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
      stopped.countDown();
    }));
    stopped.await();
    return 0;
  }

  /** Plaintext, TLS or mTLS for the registration channel; the files are read and checked before anything starts. */
  private ChannelCredentials registrationCredentials() {
    if ((registrationCert == null) != (registrationKey == null)) {
      throw new UserInputException("--registration-cert and --registration-key go together");
    }
    if (registrationCa == null && registrationCert == null) {
      return InsecureChannelCredentials.create();
    }
    if (register == null) {
      throw new UserInputException("--registration-ca/--registration-cert/--registration-key need --register");
    }
    RegistrationTls tls = new RegistrationTls(Optional.ofNullable(registrationCa), Optional.empty());
    if (registrationCert != null) {
      tls = tls.withClientCertificate(registrationCert, registrationKey);
    }
    try {
      return tls.credentials();
    } catch (TlsFileException e) {
      throw new UserInputException(e.getMessage());
    }
  }
}
