package dev.protomatch.server;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.protomatch.api.v1.KeepAliveRequest;
import dev.protomatch.api.v1.RegistrationGrpc;
import io.envoyproxy.envoy.service.discovery.v3.AggregatedDiscoveryServiceGrpc;
import io.grpc.ChannelCredentials;
import io.grpc.Grpc;
import io.grpc.InsecureChannelCredentials;
import io.grpc.ManagedChannel;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.TlsChannelCredentials;
import io.grpc.testing.TlsTesting;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** serve --tls-cert/--tls-key/--tls-client-ca: the gRPC ports speak mTLS only. */
class ControlPlaneTlsTest {
  /** server1.pem is issued for *.test.google.fr; the channel connects to 127.0.0.1 under that name. */
  private static final String AUTHORITY = "foo.test.google.fr";

  @TempDir
  Path dir;
  private ControlPlane controlPlane;
  private ManagedChannel channel;

  @BeforeEach
  void start() throws Exception {
    ControlPlaneOptions.TlsFiles tls = new ControlPlaneOptions.TlsFiles(copy("server1.pem"), copy("server1.key"),
        Optional.of(copy("ca.pem")));
    ControlPlaneOptions plain = ControlPlaneOptions.loopbackDefaults(Optional.empty()).withPorts(0, 0, 0);
    controlPlane = ControlPlane.start(new ControlPlaneOptions(plain.bindHost(), plain.adminBindHost(), 0, 0, 0,
        Optional.empty(), plain.envoyListenerHost(), plain.envoyListenerPort(), Optional.of(tls), plain.debounce(),
        plain.policyPollInterval(), plain.warmup(), plain.etcd(), plain.replicaId()), Clock.systemUTC(), Map.<String, String>of()::get);
  }

  @AfterEach
  void stop() {
    if (channel != null) {
      channel.shutdownNow();
    }
    controlPlane.close();
  }

  @Test
  void clientWithCertificateFromTheTrustedCaIsServed() throws Exception {
    channel = channel(controlPlane.registrationPort(), TlsChannelCredentials.newBuilder()
        .trustManager(cert("ca.pem")).keyManager(cert("client.pem"), cert("client.key")).build());

    // The application itself answers (no registration token is configured here), so TLS and mTLS held.
    assertThatThrownBy(() -> RegistrationGrpc.newBlockingStub(channel).withDeadlineAfter(10, TimeUnit.SECONDS)
        .keepAlive(KeepAliveRequest.newBuilder().setLeaseId("nope").build()))
        .isInstanceOfSatisfying(StatusRuntimeException.class, e -> {
          assertThat(e.getStatus().getCode()).isEqualTo(Status.Code.UNAUTHENTICATED);
          assertThat(e.getStatus().getDescription()).startsWith("registration is disabled");
        });
  }

  @Test
  void clientWithoutCertificateIsRefused() throws Exception {
    channel = channel(controlPlane.xdsPort(), TlsChannelCredentials.newBuilder().trustManager(cert("ca.pem")).build());

    assertThat(failureOf(channel)).isEqualTo(Status.Code.UNAVAILABLE);
  }

  @Test
  void plaintextClientIsRefused() {
    channel = channel(controlPlane.xdsPort(), InsecureChannelCredentials.create());

    assertThat(failureOf(channel)).isEqualTo(Status.Code.UNAVAILABLE);
  }

  private static Status.Code failureOf(ManagedChannel channel) {
    try {
      var responses = new java.util.concurrent.LinkedBlockingQueue<Throwable>();
      var requests = AggregatedDiscoveryServiceGrpc.newStub(channel).withDeadlineAfter(10, TimeUnit.SECONDS)
          .streamAggregatedResources(new io.grpc.stub.StreamObserver<>() {
            @Override public void onNext(io.envoyproxy.envoy.service.discovery.v3.DiscoveryResponse value) {}
            @Override public void onError(Throwable t) {
              responses.add(t);
            }
            @Override public void onCompleted() {}
          });
      requests.onNext(io.envoyproxy.envoy.service.discovery.v3.DiscoveryRequest.newBuilder()
          .setTypeUrl("type.googleapis.com/envoy.config.listener.v3.Listener").build());
      Throwable failure = responses.poll(15, TimeUnit.SECONDS);
      return failure == null ? Status.Code.OK : Status.fromThrowable(failure).getCode();
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new AssertionError(e);
    }
  }

  private static ManagedChannel channel(int port, ChannelCredentials credentials) {
    return Grpc.newChannelBuilderForAddress("127.0.0.1", port, credentials).overrideAuthority(AUTHORITY).build();
  }

  private Path copy(String name) throws Exception {
    try (InputStream in = TlsTesting.loadCert(name)) {
      return Files.write(dir.resolve(name), in.readAllBytes());
    }
  }

  private static InputStream cert(String name) {
    return TlsTesting.loadCert(name);
  }
}
