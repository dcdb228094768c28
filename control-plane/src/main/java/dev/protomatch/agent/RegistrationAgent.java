package dev.protomatch.agent;

import com.google.protobuf.util.Durations;
import dev.protomatch.api.v1.DeregisterRequest;
import dev.protomatch.api.v1.KeepAliveRequest;
import dev.protomatch.api.v1.RegisterRequest;
import dev.protomatch.api.v1.RegisterResponse;
import dev.protomatch.api.v1.RegistrationGrpc;
import io.grpc.ChannelCredentials;
import io.grpc.InsecureChannelCredentials;
import io.grpc.ManagedChannel;
import io.grpc.Metadata;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.netty.shaded.io.grpc.netty.NettyChannelBuilder;
import io.grpc.stub.MetadataUtils;
import java.time.Duration;
import java.util.Locale;
import java.util.Optional;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import javax.net.ssl.SSLException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Keeps one endpoint registered with protomatch, the way a sidecar agent (or the service itself) should:
 * register, renew at a third of the TTL, register again when the lease is unknown (the control plane
 * restarted or the lease lapsed during a pause), keep retrying while the control plane is unreachable,
 * and deregister on a clean shutdown. A process killed without {@link #close()} simply stops renewing.
 *
 * <p>The channel is plaintext, or TLS / mTLS with credentials from {@link RegistrationTls#credentials()}. A TLS
 * handshake that fails on the first registration (a certificate the agent does not trust, a client certificate the
 * control plane refuses, a control plane that does not speak TLS) fails {@link #start()}: retrying cannot fix it. So
 * does a plaintext agent whose connection the control plane closes without an HTTP/2 answer twice in a row (what a
 * TLS port does to plaintext; grpc-java reports it as UNAVAILABLE "Network closed for unknown reason"). Later
 * failures of either kind are logged and retried like any other unreachable control plane.
 */
public final class RegistrationAgent implements AutoCloseable {
  private static final Logger log = LoggerFactory.getLogger(RegistrationAgent.class);

  private final String target;
  private final boolean plaintext;
  private final ManagedChannel channel;
  private final RegistrationGrpc.RegistrationBlockingStub stub;
  private final RegisterRequest request;
  private final ScheduledExecutorService scheduler;
  private volatile String leaseId;
  private volatile Duration ttl;

  /**
   * A plaintext agent.
   *
   * @param target the control plane's registration address, {@code host:port}
   * @param token bearer token; empty when the control plane runs insecure (development only)
   */
  public RegistrationAgent(String target, Optional<String> token, RegisterRequest request) {
    this(target, InsecureChannelCredentials.create(), token, request);
  }

  /**
   * @param target the control plane's registration address, {@code host:port}; with TLS, the control plane's
   *     certificate must name its host
   * @param credentials {@link InsecureChannelCredentials} or {@link RegistrationTls#credentials()}
   * @param token bearer token; empty when the control plane runs insecure (development only)
   */
  public RegistrationAgent(String target, ChannelCredentials credentials, Optional<String> token,
      RegisterRequest request) {
    this.target = target;
    this.plaintext = credentials instanceof InsecureChannelCredentials;
    this.channel = NettyChannelBuilder.forTarget(target, credentials).build();
    RegistrationGrpc.RegistrationBlockingStub base = RegistrationGrpc.newBlockingStub(channel);
    if (token.isPresent()) {
      Metadata headers = new Metadata();
      headers.put(Metadata.Key.of("authorization", Metadata.ASCII_STRING_MARSHALLER), "Bearer " + token.get());
      base = base.withInterceptors(MetadataUtils.newAttachHeadersInterceptor(headers));
    }
    this.stub = base;
    this.request = request;
    this.ttl = request.hasTtl() ? Duration.ofMillis(Durations.toMillis(request.getTtl())) : Duration.ofSeconds(30);
    this.scheduler = Executors.newSingleThreadScheduledExecutor(runnable -> {
      Thread thread = new Thread(runnable, "protomatch-agent");
      thread.setDaemon(true);
      return thread;
    });
  }

  /**
   * Registers now and renews from then on. Throws if the registration is refused for a reason retrying cannot fix
   * (a bad request, a bad token, a full quota); when the control plane is unreachable or its registry is
   * (UNAVAILABLE, DEADLINE_EXCEEDED), keeps retrying in the background instead. A failed TLS handshake, or a
   * plaintext agent talking to a TLS port, is thrown as UNAVAILABLE whose description says so (see the class
   * documentation).
   */
  public void start() {
    try {
      try {
        register();
      } catch (StatusRuntimeException e) {
        if (!plaintext || !closedWithoutAnswer(e)) {
          throw e;
        }
        // Once more at once: a control plane dying mid-call closes the connection once, one serving TLS every time.
        register();
      }
    } catch (StatusRuntimeException e) {
      Optional<SSLException> handshake = sslFailure(e);
      if (handshake.isPresent()) {
        throw Status.UNAVAILABLE.withDescription("TLS handshake with " + target + " failed: "
            + rootMessage(handshake.get())).withCause(e).asRuntimeException();
      }
      if (plaintext && closedWithoutAnswer(e)) {
        throw Status.UNAVAILABLE.withDescription(target + " closed the plaintext connection without an HTTP/2 answer,"
            + " twice; if the control plane serves TLS, the agent needs TLS credentials (its CA)")
            .withCause(e).asRuntimeException();
      }
      if (!retryable(e.getStatus().getCode())) {
        throw e;
      }
      leaseId = null;
      ttl = FIRST_RETRY_TTL;
      log.warn("registration with {} failed: {}; will retry in {}", target, oneLine(e.getStatus()),
          inWords(renewalDelayMillis()));
    }
    scheduleRenewal();
  }

  /** Until a registration succeeds: retries about every second (a third of this). */
  private static final Duration FIRST_RETRY_TTL = Duration.ofSeconds(3);

  /** The TLS failure behind {@code e}, if that is why the call failed. */
  private static Optional<SSLException> sslFailure(StatusRuntimeException e) {
    for (Throwable cause = e.getCause(); cause != null; cause = cause.getCause()) {
      if (cause instanceof SSLException ssl) {
        return Optional.of(ssl);
      }
    }
    return Optional.empty();
  }

  /**
   * The innermost message: TLS engines wrap the reason ("unable to find valid certification path") in a generic one.
   * Netty's "not an SSL/TLS record: (hex)" means a plaintext answer and is said so.
   */
  private static String rootMessage(Throwable failure) {
    if (failure.getClass().getSimpleName().equals("NotSslRecordException")) {
      return "the control plane answered in plaintext, not TLS";
    }
    String message = failure.getClass().getSimpleName();
    for (Throwable cause = failure; cause != null; cause = cause.getCause()) {
      if (cause.getMessage() != null && !cause.getMessage().isBlank()) {
        message = cause.getMessage();
      }
    }
    return message;
  }

  /**
   * The connection closed before any HTTP/2 answer: what grpc-java reports for a plaintext call to a TLS port
   * (the server drops the connection on the first bytes, which are not a TLS record).
   */
  private static boolean closedWithoutAnswer(StatusRuntimeException e) {
    return e.getStatus().getCode() == Status.Code.UNAVAILABLE && e.getStatus().getCause() == null
        && "Network closed for unknown reason".equals(e.getStatus().getDescription());
  }

  private static boolean retryable(Status.Code code) {
    return code == Status.Code.UNAVAILABLE || code == Status.Code.DEADLINE_EXCEEDED;
  }

  private void register() {
    RegisterResponse response = stub.withDeadlineAfter(5, TimeUnit.SECONDS).register(request);
    leaseId = response.getLeaseId();
    ttl = Duration.ofMillis(Durations.toMillis(response.getTtl()));
  }

  /**
   * A status as one line: code, description and the message of its cause, e.g. {@code UNAVAILABLE: io exception
   * (Connection refused: /127.0.0.1:1)}. gRPC's own {@code Status.toString()} carries the cause's stack trace.
   */
  static String oneLine(Status status) {
    StringBuilder line = new StringBuilder(status.getCode().name());
    if (status.getDescription() != null) {
      line.append(": ").append(status.getDescription());
    }
    if (status.getCause() != null) {
      String cause = status.getCause().getMessage() == null ? status.getCause().getClass().getSimpleName()
          : status.getCause().getMessage().replaceFirst("^\\w+\\(\\.\\.\\) failed: ", "");
      line.append(" (").append(cause).append(')');
    }
    return line.toString().replaceAll("\\s*[\\r\\n]+\\s*", " ");
  }

  /** {@code 1 s}, {@code 3.3 s}, {@code 100 ms}. */
  private static String inWords(long millis) {
    return millis < 1000 ? millis + " ms"
        : millis % 1000 == 0 ? millis / 1000 + " s" : String.format(Locale.ROOT, "%.1f s", millis / 1000.0);
  }

  private long renewalDelayMillis() {
    return Math.max(100, ttl.toMillis() / 3);
  }

  private void scheduleRenewal() {
    scheduler.schedule(this::renew, renewalDelayMillis(), TimeUnit.MILLISECONDS);
  }

  private void renew() {
    boolean registering = leaseId == null;
    try {
      if (registering) {
        register();
      } else {
        stub.withDeadlineAfter(5, TimeUnit.SECONDS).keepAlive(KeepAliveRequest.newBuilder().setLeaseId(leaseId).build());
      }
    } catch (StatusRuntimeException e) {
      if (!registering && e.getStatus().getCode() == Status.Code.NOT_FOUND) {
        log.info("lease unknown to the control plane (restarted?); registering again");
        leaseId = null;
        try {
          register();
        } catch (StatusRuntimeException again) {
          log.warn("registration with {} failed: {}; will retry in {}", target, oneLine(again.getStatus()),
              inWords(renewalDelayMillis()));
        }
      } else {
        log.warn("{} with {} failed: {}; will retry in {}", registering ? "registration" : "keep-alive", target,
            oneLine(e.getStatus()), inWords(renewalDelayMillis()));
      }
    } finally {
      if (!scheduler.isShutdown()) {
        scheduleRenewal();
      }
    }
  }

  @Override
  public void close() {
    scheduler.shutdownNow();
    String lease = leaseId;
    if (lease != null) {
      try {
        stub.withDeadlineAfter(2, TimeUnit.SECONDS).deregister(DeregisterRequest.newBuilder().setLeaseId(lease).build());
      } catch (StatusRuntimeException e) {
        log.warn("deregistration with {} failed: {}; the lease will expire instead", target, oneLine(e.getStatus()));
      }
    }
    channel.shutdownNow();
  }
}
