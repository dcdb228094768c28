package dev.protomatch.agent;

import com.google.protobuf.util.Durations;
import dev.protomatch.api.v1.DeregisterRequest;
import dev.protomatch.api.v1.KeepAliveRequest;
import dev.protomatch.api.v1.RegisterRequest;
import dev.protomatch.api.v1.RegisterResponse;
import dev.protomatch.api.v1.RegistrationGrpc;
import io.grpc.ManagedChannel;
import io.grpc.Metadata;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.netty.shaded.io.grpc.netty.NettyChannelBuilder;
import io.grpc.stub.MetadataUtils;
import java.time.Duration;
import java.util.Optional;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Keeps one endpoint registered with protomatch, the way a sidecar agent (or the service itself) should:
 * register, renew at a third of the TTL, register again when the lease is unknown (the control plane
 * restarted or the lease lapsed during a pause), keep retrying while the control plane is unreachable,
 * and deregister on a clean shutdown. A process killed without {@link #close()} simply stops renewing.
 */
public final class RegistrationAgent implements AutoCloseable {
  private static final Logger log = LoggerFactory.getLogger(RegistrationAgent.class);

  private final ManagedChannel channel;
  private final RegistrationGrpc.RegistrationBlockingStub stub;
  private final RegisterRequest request;
  private final ScheduledExecutorService scheduler;
  private volatile String leaseId;
  private volatile Duration ttl;

  /**
   * @param target the control plane's registration address, {@code host:port}
   * @param token bearer token; empty when the control plane runs insecure (development only)
   */
  public RegistrationAgent(String target, Optional<String> token, RegisterRequest request) {
    this.channel = NettyChannelBuilder.forTarget(target).usePlaintext().build();
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
   * (UNAVAILABLE, DEADLINE_EXCEEDED), keeps retrying in the background instead.
   */
  public void start() {
    try {
      register();
    } catch (StatusRuntimeException e) {
      if (!retryable(e.getStatus().getCode())) {
        throw e;
      }
      log.warn("registration failed, will retry: {}", e.getStatus());
      leaseId = null;
      ttl = FIRST_RETRY_TTL;
    }
    scheduleRenewal();
  }

  /** Until a registration succeeds: retries about every second (a third of this). */
  private static final Duration FIRST_RETRY_TTL = Duration.ofSeconds(3);

  private static boolean retryable(Status.Code code) {
    return code == Status.Code.UNAVAILABLE || code == Status.Code.DEADLINE_EXCEEDED;
  }

  private void register() {
    RegisterResponse response = stub.withDeadlineAfter(5, TimeUnit.SECONDS).register(request);
    leaseId = response.getLeaseId();
    ttl = Duration.ofMillis(Durations.toMillis(response.getTtl()));
  }

  private void scheduleRenewal() {
    long delay = Math.max(100, ttl.toMillis() / 3);
    scheduler.schedule(this::renew, delay, TimeUnit.MILLISECONDS);
  }

  private void renew() {
    try {
      if (leaseId == null) {
        register();
      } else {
        stub.withDeadlineAfter(5, TimeUnit.SECONDS).keepAlive(KeepAliveRequest.newBuilder().setLeaseId(leaseId).build());
      }
    } catch (StatusRuntimeException e) {
      if (e.getStatus().getCode() == Status.Code.NOT_FOUND) {
        log.info("lease unknown to the control plane (restarted?); registering again");
        leaseId = null;
        try {
          register();
        } catch (StatusRuntimeException again) {
          log.warn("registration failed: {}", again.getStatus());
        }
      } else {
        log.warn("keep-alive failed, will retry: {}", e.getStatus());
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
        log.warn("deregistration failed (the lease will expire instead): {}", e.getStatus());
      }
    }
    channel.shutdownNow();
  }
}
