package dev.protomatch.agent;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import dev.protomatch.api.v1.DeregisterRequest;
import dev.protomatch.api.v1.DeregisterResponse;
import dev.protomatch.api.v1.Endpoint;
import dev.protomatch.api.v1.KeepAliveRequest;
import dev.protomatch.api.v1.KeepAliveResponse;
import dev.protomatch.api.v1.RegisterRequest;
import dev.protomatch.api.v1.RegisterResponse;
import dev.protomatch.api.v1.RegistrationGrpc;
import com.google.protobuf.util.Durations;
import io.grpc.Server;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.netty.shaded.io.grpc.netty.NettyServerBuilder;
import io.grpc.stub.StreamObserver;
import java.net.InetSocketAddress;
import java.time.Duration;
import java.util.Optional;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/** The agent against a real registration server on loopback that refuses the way a control plane can. */
class RegistrationAgentTest {
  private final AtomicInteger registerCalls = new AtomicInteger();
  private Server server;

  @AfterEach
  void stop() {
    if (server != null) {
      server.shutdownNow();
    }
  }

  @Test
  void aFirstRegistrationRefusedAsUnavailableIsRetriedInTheBackground() throws Exception {
    start(Status.UNAVAILABLE, 2);

    try (RegistrationAgent agent = agent()) {
      agent.start();

      await().atMost(Duration.ofSeconds(10)).until(() -> registerCalls.get() >= 3);
    }
  }

  @Test
  void aFirstRegistrationRefusedForGoodFailsTheStart() throws Exception {
    start(Status.INVALID_ARGUMENT, Integer.MAX_VALUE);

    try (RegistrationAgent agent = agent()) {
      assertThatThrownBy(agent::start).isInstanceOfSatisfying(StatusRuntimeException.class,
          e -> assertThat(e.getStatus().getCode()).isEqualTo(Status.Code.INVALID_ARGUMENT));
    }
    assertThat(registerCalls.get()).isEqualTo(1);
  }

  /** A registration server refusing the first {@code refusals} registrations with {@code refusal}. */
  private void start(Status refusal, int refusals) throws Exception {
    server = NettyServerBuilder.forAddress(new InetSocketAddress("127.0.0.1", 0))
        .addService(new RegistrationGrpc.RegistrationImplBase() {
          @Override
          public void register(RegisterRequest request, StreamObserver<RegisterResponse> response) {
            if (registerCalls.incrementAndGet() <= refusals) {
              response.onError(refusal.withDescription("refused by the test").asException());
              return;
            }
            response.onNext(RegisterResponse.newBuilder().setLeaseId("lease-1")
                .setTtl(Durations.fromSeconds(30)).build());
            response.onCompleted();
          }

          @Override
          public void keepAlive(KeepAliveRequest request, StreamObserver<KeepAliveResponse> response) {
            response.onNext(KeepAliveResponse.newBuilder().setTtl(Durations.fromSeconds(30)).build());
            response.onCompleted();
          }

          @Override
          public void deregister(DeregisterRequest request, StreamObserver<DeregisterResponse> response) {
            response.onNext(DeregisterResponse.getDefaultInstance());
            response.onCompleted();
          }
        })
        .build().start();
  }

  private RegistrationAgent agent() {
    return new RegistrationAgent("127.0.0.1:" + server.getPort(), Optional.empty(), RegisterRequest.newBuilder()
        .setEndpoint(Endpoint.newBuilder().setHost("127.0.0.1").setPort(50051)).build());
  }
}
