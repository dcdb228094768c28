package dev.protomatch.agent;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import com.google.protobuf.util.Durations;
import dev.protomatch.api.v1.DeregisterRequest;
import dev.protomatch.api.v1.DeregisterResponse;
import dev.protomatch.api.v1.Endpoint;
import dev.protomatch.api.v1.KeepAliveRequest;
import dev.protomatch.api.v1.KeepAliveResponse;
import dev.protomatch.api.v1.RegisterRequest;
import dev.protomatch.api.v1.RegisterResponse;
import dev.protomatch.api.v1.RegistrationGrpc;
import io.grpc.ChannelCredentials;
import io.grpc.Grpc;
import io.grpc.InsecureChannelCredentials;
import io.grpc.Metadata;
import io.grpc.Server;
import io.grpc.ServerCall;
import io.grpc.ServerCallHandler;
import io.grpc.ServerCredentials;
import io.grpc.ServerInterceptor;
import io.grpc.ServerInterceptors;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.TlsServerCredentials;
import io.grpc.netty.shaded.io.grpc.netty.NettyServerBuilder;
import io.grpc.stub.StreamObserver;
import java.net.InetSocketAddress;
import java.nio.file.Path;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.util.Optional;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;
import javax.net.ssl.SSLPeerUnverifiedException;
import javax.net.ssl.SSLSession;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The agent over TLS and mTLS against a real gRPC registration server on loopback whose credentials are built the
 * way {@code ControlPlane} builds the registration port's ({@code --tls-cert/--tls-key[/--tls-client-ca]}), with
 * certificates made for the run by openssl.
 */
class RegistrationAgentTlsTest {
  @TempDir
  static Path dir;
  private static TestCertificates certificates;

  private final AtomicInteger registerCalls = new AtomicInteger();
  private final AtomicInteger keepAliveCalls = new AtomicInteger();
  private final AtomicInteger deregisterCalls = new AtomicInteger();
  /** The subject of the client certificate the last call came with, "none" without one. */
  private final AtomicReference<String> clientSubject = new AtomicReference<>();
  private Server server;

  @BeforeAll
  static void makeCertificates() {
    certificates = TestCertificates.make(dir);
  }

  @AfterEach
  void stop() {
    if (server != null) {
      server.shutdownNow();
    }
  }

  @Test
  void tlsAgentRegistersKeepsAliveAndDeregisters() throws Exception {
    start(tls(false));

    try (RegistrationAgent agent = agent(RegistrationTls.trusting(certificates.ca()).credentials())) {
      agent.start();

      assertThat(registerCalls.get()).isEqualTo(1);
      await().atMost(Duration.ofSeconds(10)).until(() -> keepAliveCalls.get() >= 2);
    }
    assertThat(deregisterCalls.get()).isEqualTo(1);
    assertThat(clientSubject.get()).isEqualTo("none");
  }

  @Test
  void mtlsAgentPresentsItsCertificateAndKeepsAlive() throws Exception {
    start(tls(true));

    try (RegistrationAgent agent = agent(RegistrationTls.trusting(certificates.ca())
        .withClientCertificate(certificates.clientChain(), certificates.clientKey()).credentials())) {
      agent.start();

      await().atMost(Duration.ofSeconds(10)).until(() -> keepAliveCalls.get() >= 2);
    }
    assertThat(registerCalls.get()).isEqualTo(1);
    assertThat(clientSubject.get()).isEqualTo("CN=protomatch-test-agent");
  }

  @Test
  void serverCertificateFromAnotherCaFailsTheStartNamingTheHandshake() throws Exception {
    start(tls(false));

    try (RegistrationAgent agent = agent(RegistrationTls.trusting(certificates.otherCa()).credentials())) {
      assertThatThrownBy(agent::start).isInstanceOfSatisfying(StatusRuntimeException.class, e -> {
        assertThat(e.getStatus().getCode()).isEqualTo(Status.Code.UNAVAILABLE);
        assertThat(e.getStatus().getDescription())
            .startsWith("TLS handshake with 127.0.0.1:" + server.getPort() + " failed: ")
            .contains("certification path");
      });
    }
    assertThat(registerCalls.get()).isZero();
  }

  @Test
  void agentWithoutClientCertificateFailsTheStartAgainstMtls() throws Exception {
    start(tls(true));

    try (RegistrationAgent agent = agent(RegistrationTls.trusting(certificates.ca()).credentials())) {
      assertThatThrownBy(agent::start).isInstanceOfSatisfying(StatusRuntimeException.class, e -> {
        assertThat(e.getStatus().getCode()).isEqualTo(Status.Code.UNAVAILABLE);
        assertThat(e.getStatus().getDescription()).startsWith("TLS handshake with 127.0.0.1:" + server.getPort())
            .containsIgnoringCase("certificate_required");
      });
    }
    assertThat(registerCalls.get()).isZero();
  }

  @Test
  void plaintextAgentAgainstTlsFailsTheStart() throws Exception {
    start(tls(false));

    try (RegistrationAgent agent = agent(InsecureChannelCredentials.create())) {
      assertThatThrownBy(agent::start).isInstanceOfSatisfying(StatusRuntimeException.class, e -> {
        assertThat(e.getStatus().getCode()).isEqualTo(Status.Code.UNAVAILABLE);
        assertThat(e.getStatus().getDescription()).isEqualTo("127.0.0.1:" + server.getPort() + " closed the plaintext"
            + " connection without an HTTP/2 answer, twice; if the control plane serves TLS, the agent needs TLS"
            + " credentials (its CA)");
      });
    }
    assertThat(registerCalls.get()).isZero();
  }

  @Test
  void tlsAgentAgainstPlaintextFailsTheStart() throws Exception {
    start(io.grpc.InsecureServerCredentials.create());

    try (RegistrationAgent agent = agent(RegistrationTls.trusting(certificates.ca()).credentials())) {
      assertThatThrownBy(agent::start).isInstanceOfSatisfying(StatusRuntimeException.class, e -> {
        assertThat(e.getStatus().getCode()).isEqualTo(Status.Code.UNAVAILABLE);
        assertThat(e.getStatus().getDescription()).isEqualTo("TLS handshake with 127.0.0.1:" + server.getPort()
            + " failed: the control plane answered in plaintext, not TLS");
      });
    }
    assertThat(registerCalls.get()).isZero();
  }

  /** What ControlPlane.credentials builds for the registration port. */
  private static ServerCredentials tls(boolean requireClientCertificates) throws Exception {
    TlsServerCredentials.Builder builder = TlsServerCredentials.newBuilder()
        .keyManager(certificates.serverChain().toFile(), certificates.serverKey().toFile());
    if (requireClientCertificates) {
      builder.trustManager(certificates.ca().toFile()).clientAuth(TlsServerCredentials.ClientAuth.REQUIRE);
    }
    return builder.build();
  }

  /** A registration server granting 900 ms leases (the agent renews about every 300 ms). */
  private void start(ServerCredentials credentials) throws Exception {
    RegistrationGrpc.RegistrationImplBase service = new RegistrationGrpc.RegistrationImplBase() {
      @Override
      public void register(RegisterRequest request, StreamObserver<RegisterResponse> response) {
        registerCalls.incrementAndGet();
        response.onNext(RegisterResponse.newBuilder().setLeaseId("lease-1").setTtl(Durations.fromMillis(900)).build());
        response.onCompleted();
      }

      @Override
      public void keepAlive(KeepAliveRequest request, StreamObserver<KeepAliveResponse> response) {
        keepAliveCalls.incrementAndGet();
        response.onNext(KeepAliveResponse.newBuilder().setTtl(Durations.fromMillis(900)).build());
        response.onCompleted();
      }

      @Override
      public void deregister(DeregisterRequest request, StreamObserver<DeregisterResponse> response) {
        deregisterCalls.incrementAndGet();
        response.onNext(DeregisterResponse.getDefaultInstance());
        response.onCompleted();
      }
    };
    ServerInterceptor recordClientCertificate = new ServerInterceptor() {
      @Override
      public <Q, A> ServerCall.Listener<Q> interceptCall(ServerCall<Q, A> call, Metadata headers,
          ServerCallHandler<Q, A> next) {
        clientSubject.set(subject(call.getAttributes().get(Grpc.TRANSPORT_ATTR_SSL_SESSION)));
        return next.startCall(call, headers);
      }
    };
    server = NettyServerBuilder.forAddress(new InetSocketAddress("127.0.0.1", 0), credentials)
        .addService(ServerInterceptors.intercept(service, recordClientCertificate))
        .build().start();
  }

  private static String subject(SSLSession session) {
    if (session == null) {
      return "none";
    }
    try {
      return ((X509Certificate) session.getPeerCertificates()[0]).getSubjectX500Principal().getName();
    } catch (SSLPeerUnverifiedException e) {
      return "none";
    }
  }

  private RegistrationAgent agent(ChannelCredentials credentials) {
    return new RegistrationAgent("127.0.0.1:" + server.getPort(), credentials, Optional.empty(),
        RegisterRequest.newBuilder().setEndpoint(Endpoint.newBuilder().setHost("127.0.0.1").setPort(50051)).build());
  }
}
