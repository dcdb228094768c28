package dev.protomatch.xds;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.protomatch.decision.RoutableEndpoint;
import dev.protomatch.decision.RoutingDecision;
import dev.protomatch.decision.ServiceDecision;
import dev.protomatch.demo.v2.GreeterGrpc;
import dev.protomatch.demo.v2.HelloReply;
import dev.protomatch.demo.v2.HelloRequest;
import dev.protomatch.policy.DataPlanePolicy;
import dev.protomatch.policy.DataPlanePolicy.CircuitBreakers;
import dev.protomatch.policy.DataPlanePolicy.Retries;
import dev.protomatch.policy.Expectation;
import dev.protomatch.policy.ServicePolicy;
import dev.protomatch.registry.EndpointAddress;
import dev.protomatch.registry.Locality;
import dev.protomatch.testing.Decisions;
import dev.protomatch.testing.LoopbackServer;
import dev.protomatch.testing.XdsClients;
import io.envoyproxy.controlplane.cache.v3.SimpleCache;
import io.grpc.InsecureServerCredentials;
import io.grpc.ManagedChannel;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.stub.StreamObserver;
import java.net.InetSocketAddress;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.OptionalInt;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.BiFunction;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * What a real grpc-java xDS client does with the data-plane settings protomatch generates: it retries
 * UNAVAILABLE by the route's retry policy (and not when the policy turns retries off, nor for a method in
 * {@code without-retries}), and it cuts a call without a deadline at the policy's max-timeout (gRFC A31's
 * grpc_timeout_header_max).
 */
class ProxylessDataPlaneTest {
  private static final int CALLS = 20;
  /** A SayHelloAgain request the server never answers. */
  private static final String NEVER = "never";

  private LoopbackServer server;
  private XdsServer xds;
  private ManagedChannel channel;

  @AfterEach
  void stop() throws Exception {
    channel.shutdownNow();
    xds.close();
    server.close();
  }

  @Test
  void defaultRetriesTurnEveryFirstAttemptsUnavailableIntoSuccess() throws Exception {
    start(DataPlanePolicy.DEFAULTS);

    assertThat(failures(GreeterGrpc.GreeterBlockingStub::sayHello)).isZero();
  }

  @Test
  void withRetriesOffEveryOtherCallFails() throws Exception {
    start(with(Optional.empty(), new Retries(false, Retries.DEFAULT_RETRY_ON, 2, OptionalInt.empty())));

    assertThat(failures(GreeterGrpc.GreeterBlockingStub::sayHello)).isEqualTo(CALLS / 2);
  }

  @Test
  void aMethodWithoutRetriesSeesEveryOtherCallFailWhileTheOtherMethodIsRetried() throws Exception {
    start(with(Optional.empty(), new Retries(true, Retries.DEFAULT_RETRY_ON, 2, OptionalInt.empty(),
        new TreeSet<>(List.of("SayHelloAgain")))));

    assertThat(failures(GreeterGrpc.GreeterBlockingStub::sayHelloAgain)).isEqualTo(CALLS / 2);
    assertThat(failures(GreeterGrpc.GreeterBlockingStub::sayHello)).isZero();
  }

  @Test
  void maxTimeoutEndsACallThatHasNoDeadline() throws Exception {
    start(with(Optional.of(Duration.ofSeconds(1)), Retries.DEFAULTS));

    Status status = Status.OK;
    try {
      GreeterGrpc.newBlockingStub(channel).sayHelloAgain(HelloRequest.newBuilder().setName(NEVER).build());
    } catch (StatusRuntimeException e) {
      status = e.getStatus();
    }

    assertThat(status.getCode()).isEqualTo(Status.Code.DEADLINE_EXCEEDED);
  }

  /** Sequential calls of one method (the server fails every odd-numbered attempt of each); how many failed. */
  private int failures(BiFunction<GreeterGrpc.GreeterBlockingStub, HelloRequest, HelloReply> method) {
    GreeterGrpc.GreeterBlockingStub stub = GreeterGrpc.newBlockingStub(channel);
    int failed = 0;
    for (int i = 0; i < CALLS; i++) {
      try {
        method.apply(stub.withDeadlineAfter(10, TimeUnit.SECONDS), HelloRequest.newBuilder().setName("n" + i).build());
      } catch (StatusRuntimeException e) {
        assertThat(e.getStatus().getCode()).isEqualTo(Status.Code.UNAVAILABLE);
        failed++;
      }
    }
    return failed;
  }

  private void start(DataPlanePolicy dataPlane) throws Exception {
    AtomicInteger attempts = new AtomicInteger();
    AtomicInteger againAttempts = new AtomicInteger();
    server = LoopbackServer.start(LoopbackServer.Reflection.NONE, new GreeterGrpc.GreeterImplBase() {
      @Override
      public void sayHello(HelloRequest request, StreamObserver<HelloReply> response) {
        answerEvenAttempts(attempts, request, response);
      }

      @Override
      public void sayHelloAgain(HelloRequest request, StreamObserver<HelloReply> response) {
        if (!request.getName().equals(NEVER)) { // NEVER: no answer, only a deadline ends the call
          answerEvenAttempts(againAttempts, request, response);
        }
      }
    });
    SimpleCache<String> cache = new SimpleCache<>(node -> NodeKind.of(node).group());
    xds = XdsServer.start(new InetSocketAddress("127.0.0.1", 0), InsecureServerCredentials.create(), cache,
        new XdsClientTracker(Clock.systemUTC()));
    ServicePolicy policy = new ServicePolicy("demo.Greeter", "demo-greeter",
        new Expectation.RequiredMethods(new TreeSet<>(List.of("SayHello", "SayHelloAgain"))),
        ServicePolicy.WhenNoneQualify.FAIL_CLOSED, ServicePolicy.WithoutReflection.TRUST_ADVERTISED, List.of(),
        dataPlane);
    ServiceDecision service = Decisions.oneBuild(policy, List.of(new RoutableEndpoint(
        new EndpointAddress("127.0.0.1", server.port()), Locality.UNKNOWN, 1, Optional.empty())), List.of(),
        "SayHello", "SayHelloAgain");
    new SnapshotPublisher(cache, new SnapshotBuilder("127.0.0.1", 15001))
        .publish(new RoutingDecision(Instant.EPOCH, 1, new TreeMap<>(Map.of("demo.Greeter", service))));
    channel = XdsClients.channel(xds.port(), "demo-greeter", "proxyless-data-plane-test");
    // Until the client has the route and an endpoint, calls fail UNAVAILABLE: wait for one success, then start
    // from an even attempt count so each measured call's first attempt is the failing one.
    GreeterGrpc.GreeterBlockingStub stub = GreeterGrpc.newBlockingStub(channel).withWaitForReady();
    await().atMost(Duration.ofSeconds(20)).ignoreExceptions().until(() -> {
      stub.withDeadlineAfter(5, TimeUnit.SECONDS).sayHello(HelloRequest.getDefaultInstance());
      return true;
    });
    attempts.set(0);
  }

  private static void answerEvenAttempts(AtomicInteger attempts, HelloRequest request,
                                         StreamObserver<HelloReply> response) {
    if (attempts.incrementAndGet() % 2 == 1) {
      response.onError(Status.UNAVAILABLE.withDescription("odd attempt").asRuntimeException());
      return;
    }
    response.onNext(HelloReply.newBuilder().setMessage("hello " + request.getName()).build());
    response.onCompleted();
  }

  private static DataPlanePolicy with(Optional<Duration> maxTimeout, Retries retries) {
    return new DataPlanePolicy(maxTimeout, CircuitBreakers.DEFAULTS, retries, Optional.empty(), Optional.empty());
  }
}
