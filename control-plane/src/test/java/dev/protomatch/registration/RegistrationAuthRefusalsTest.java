package dev.protomatch.registration;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import ch.qos.logback.classic.Level;
import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.read.ListAppender;
import dev.protomatch.api.v1.Endpoint;
import dev.protomatch.api.v1.RegisterRequest;
import dev.protomatch.api.v1.RegistrationGrpc;
import dev.protomatch.descriptor.DescriptorHasher;
import dev.protomatch.policy.Settings;
import dev.protomatch.registry.InMemoryEndpointRegistry;
import dev.protomatch.testing.TestClock;
import io.grpc.ManagedChannel;
import io.grpc.Metadata;
import io.grpc.Server;
import io.grpc.ServerInterceptors;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.netty.shaded.io.grpc.netty.NettyChannelBuilder;
import io.grpc.netty.shaded.io.grpc.netty.NettyServerBuilder;
import io.grpc.stub.MetadataUtils;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.slf4j.LoggerFactory;

/**
 * Refused registration calls over a real loopback gRPC server: every refusal reaches the listeners (metrics)
 * with the caller's address and the reason; the log says so at INFO once per peer per minute.
 */
class RegistrationAuthRefusalsTest {
  private static final String TOKEN = "s3cret";
  private static final String REGISTER = RegistrationGrpc.getRegisterMethod().getFullMethodName();

  private final AtomicLong nanos = new AtomicLong();
  private final List<BearerTokenInterceptor.Refusal> refusals = new CopyOnWriteArrayList<>();
  private final ListAppender<ILoggingEvent> logged = new ListAppender<>();
  private final Logger interceptorLog = (Logger) LoggerFactory.getLogger(BearerTokenInterceptor.class);
  private Server server;
  private ManagedChannel channel;

  @BeforeEach
  void start() throws IOException {
    logged.start();
    interceptorLog.addAppender(logged);
    Settings.Auth auth = new Settings.Auth(Optional.empty(), Optional.of("TEST_TOKEN"), false);
    BearerTokenInterceptor interceptor =
        new BearerTokenInterceptor(() -> auth, Map.of("TEST_TOKEN", TOKEN)::get, nanos::get);
    interceptor.addRefusalListener(refusals::add);
    RegistrationService service = new RegistrationService(
        new InMemoryEndpointRegistry(TestClock.atEpochPlusOneDay()), Settings::defaults, new DescriptorHasher());
    server = NettyServerBuilder.forAddress(new InetSocketAddress("127.0.0.1", 0))
        .addService(ServerInterceptors.intercept(service, interceptor)).build().start();
    channel = NettyChannelBuilder.forAddress("127.0.0.1", server.getPort()).usePlaintext().build();
  }

  @AfterEach
  void stop() throws InterruptedException {
    interceptorLog.detachAppender(logged);
    channel.shutdownNow();
    server.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
  }

  @Test
  void aWrongTokenIsCountedEachTimeAndLoggedOncePerMinute() {
    for (int i = 0; i < 3; i++) {
      assertRefused(Optional.of("wrong"));
    }

    assertThat(refusals).containsExactly(refusal(BearerTokenInterceptor.RefusalReason.INVALID_TOKEN),
        refusal(BearerTokenInterceptor.RefusalReason.INVALID_TOKEN),
        refusal(BearerTokenInterceptor.RefusalReason.INVALID_TOKEN));
    assertThat(logged.list).hasSize(1);
    assertThat(logged.list.get(0).getLevel()).isEqualTo(Level.INFO);
    assertThat(logged.list.get(0).getFormattedMessage()).isEqualTo("refused registration call " + REGISTER
        + " from 127.0.0.1: invalid bearer token (logged once a minute per peer; every refusal counts in"
        + " protomatch_registration_auth_refusals_total)");

    nanos.addAndGet(Duration.ofSeconds(59).toNanos());
    assertRefused(Optional.of("wrong"));
    assertThat(logged.list).hasSize(1);

    nanos.addAndGet(Duration.ofSeconds(2).toNanos());
    assertRefused(Optional.of("wrong"));
    assertThat(logged.list).hasSize(2);
    assertThat(refusals).hasSize(5);
  }

  @Test
  void aMissingTokenHasItsOwnReason() {
    assertRefused(Optional.empty());

    assertThat(refusals).containsExactly(refusal(BearerTokenInterceptor.RefusalReason.MISSING_TOKEN));
    assertThat(logged.list).extracting(ILoggingEvent::getFormattedMessage).singleElement().asString()
        .contains("from 127.0.0.1: missing bearer token");
  }

  private void assertRefused(Optional<String> token) {
    Metadata headers = new Metadata();
    Metadata.Key<String> authorization = Metadata.Key.of("authorization", Metadata.ASCII_STRING_MARSHALLER);
    token.ifPresent(t -> headers.put(authorization, "Bearer " + t));
    RegistrationGrpc.RegistrationBlockingStub stub = RegistrationGrpc.newBlockingStub(channel)
        .withInterceptors(MetadataUtils.newAttachHeadersInterceptor(headers))
        .withDeadlineAfter(10, TimeUnit.SECONDS);
    assertThatThrownBy(() -> stub.register(RegisterRequest.newBuilder()
            .setEndpoint(Endpoint.newBuilder().setHost("127.0.0.1").setPort(1)).build()))
        .isInstanceOfSatisfying(StatusRuntimeException.class,
            e -> assertThat(e.getStatus().getCode()).isEqualTo(Status.Code.UNAUTHENTICATED));
  }

  private static BearerTokenInterceptor.Refusal refusal(BearerTokenInterceptor.RefusalReason reason) {
    return new BearerTokenInterceptor.Refusal("127.0.0.1", REGISTER, reason);
  }
}
