package dev.protomatch.registration;

import dev.protomatch.util.Listeners;
import com.google.protobuf.Timestamp;
import com.google.protobuf.util.Durations;
import com.google.protobuf.util.Timestamps;
import dev.protomatch.api.v1.DeregisterRequest;
import dev.protomatch.api.v1.DeregisterResponse;
import dev.protomatch.api.v1.KeepAliveRequest;
import dev.protomatch.api.v1.KeepAliveResponse;
import dev.protomatch.api.v1.RegisterRequest;
import dev.protomatch.api.v1.RegisterResponse;
import dev.protomatch.api.v1.RegistrationGrpc;
import dev.protomatch.descriptor.DescriptorHasher;
import dev.protomatch.policy.Settings;
import dev.protomatch.registry.AddressTakenException;
import dev.protomatch.registry.EndpointRegistration;
import dev.protomatch.registry.EndpointRegistry;
import dev.protomatch.registry.RegistryUnavailableException;
import dev.protomatch.registry.Lease;
import io.grpc.Status;
import io.grpc.StatusException;
import io.grpc.stub.StreamObserver;
import java.time.Duration;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.Consumer;
import java.util.function.Supplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The {@code protomatch.v1.Registration} API. Every refusal is a status whose description says what was
 * wrong; a refused call changes nothing, so endpoints already registered are never lost to a bad request.
 * Install behind {@link BearerTokenInterceptor}.
 *
 * <p>The per-client endpoint limit is checked and the endpoint registered under a lock of that client, so
 * concurrent registrations of one client cannot all pass the check before any is stored. The registry call
 * (and the listeners it signals) runs under that lock: it holds up only that client's other registrations,
 * and nothing those listeners do takes a client lock. With several replicas on etcd each replica enforces the
 * limit for the calls it receives.
 */
public final class RegistrationService extends RegistrationGrpc.RegistrationImplBase {
  private static final Logger log = LoggerFactory.getLogger(RegistrationService.class);

  private final EndpointRegistry registry;
  private final Supplier<Settings> settings;
  private final RegistrationValidator validator;
  private final Listeners<Call> listeners = new Listeners<>("registration call");
  /** One lock object per client that ever registered: a few dozen bytes each. */
  private final ConcurrentHashMap<String, Object> clientLocks = new ConcurrentHashMap<>();

  /** What a call asked for and whether it was granted; a refused call changed nothing. */
  public record Call(Kind kind, boolean accepted) {
    public enum Kind { REGISTER, KEEP_ALIVE, DEREGISTER }
  }

  public RegistrationService(EndpointRegistry registry, Supplier<Settings> settings, DescriptorHasher hasher) {
    this.registry = registry;
    this.settings = settings;
    this.validator = new RegistrationValidator(hasher);
  }

  /**
   * Called with the outcome of each call that reached the service (calls without a valid token do not), on its
   * thread, before the caller gets its answer (so metrics already count a call its caller saw answered).
   */
  public void addListener(Consumer<Call> listener) {
    listeners.add(listener);
  }

  @Override
  public void register(RegisterRequest request, StreamObserver<RegisterResponse> response) {
    Caller caller = caller();
    String client = caller.peerText();
    Settings current = settings.get();
    try {
      RegistrationPermissions.Identity identity = RegistrationPermissions.identify(current.registration(), caller);
      client = identity.client();
      EndpointRegistration registration = validator.validate(request, client, current.limits());
      RegistrationPermissions.authorize(current.registration(), caller, identity, registration.address(),
          registration.services().stream().map(a -> a.service()).toList());
      Lease lease;
      synchronized (clientLocks.computeIfAbsent(client, c -> new Object())) {
        int already = registry.countByClient(client);
        boolean replacing = registry.isRegistered(registration.address());
        if (!replacing && registry.registeredCount() >= current.limits().maxEndpoints()) {
          // Checked under this client's lock only: concurrent clients can overshoot by the calls in flight.
          throw Status.RESOURCE_EXHAUSTED.withDescription(registry.registeredCount() + " endpoints are registered;"
              + " the limit is " + current.limits().maxEndpoints() + " (settings.limits.max-endpoints)").asException();
        }
        if (!replacing && already >= current.limits().maxEndpointsPerClient()) {
          throw Status.RESOURCE_EXHAUSTED.withDescription("client " + client + " already registered " + already
              + " endpoints; the limit is " + current.limits().maxEndpointsPerClient()
              + " (settings.limits.max-endpoints-per-client)").asException();
        }
        try {
          lease = registry.register(registration, ttl(request, current.lease()));
        } catch (AddressTakenException e) {
          throw Status.PERMISSION_DENIED.withDescription(e.getMessage()).asException();
        }
      }
      log.info("registered {} for {} (client {}, lease ttl {}s)", registration.address(),
          registration.services().stream().map(a -> a.service()).toList(), client, lease.ttl().toSeconds());
      response.onNext(RegisterResponse.newBuilder()
          .setLeaseId(lease.id())
          .setTtl(Durations.fromMillis(lease.ttl().toMillis()))
          .setExpiresAt(timestamp(lease))
          .build());
      tell(Call.Kind.REGISTER, true);
      response.onCompleted();
    } catch (RegistryUnavailableException e) {
      log.warn("registration from {} not stored: {}", client, e.getMessage());
      tell(Call.Kind.REGISTER, false);
      response.onError(unavailable(e));
    } catch (StatusException e) {
      log.warn("refused registration from {}: {}", client, e.getStatus().getDescription());
      tell(Call.Kind.REGISTER, false);
      response.onError(e);
    }
  }

  @Override
  public void keepAlive(KeepAliveRequest request, StreamObserver<KeepAliveResponse> response) {
    Optional<Lease> lease;
    try {
      Optional<StatusException> refusal = refusalOfLease(request.getLeaseId());
      if (refusal.isPresent()) {
        tell(Call.Kind.KEEP_ALIVE, false);
        response.onError(refusal.get());
        return;
      }
      lease = registry.renew(request.getLeaseId());
    } catch (RegistryUnavailableException e) {
      tell(Call.Kind.KEEP_ALIVE, false);
      response.onError(unavailable(e));
      return;
    }
    if (lease.isEmpty()) {
      tell(Call.Kind.KEEP_ALIVE, false);
      response.onError(Status.NOT_FOUND.withDescription("lease '" + request.getLeaseId()
          + "' is unknown or expired; register again").asException());
      return;
    }
    response.onNext(KeepAliveResponse.newBuilder()
        .setTtl(Durations.fromMillis(lease.get().ttl().toMillis()))
        .setExpiresAt(timestamp(lease.get()))
        .build());
    tell(Call.Kind.KEEP_ALIVE, true);
    response.onCompleted();
  }

  @Override
  public void deregister(DeregisterRequest request, StreamObserver<DeregisterResponse> response) {
    boolean removed;
    try {
      Optional<StatusException> refusal = refusalOfLease(request.getLeaseId());
      if (refusal.isPresent()) {
        tell(Call.Kind.DEREGISTER, false);
        response.onError(refusal.get());
        return;
      }
      removed = registry.deregister(request.getLeaseId());
    } catch (RegistryUnavailableException e) {
      tell(Call.Kind.DEREGISTER, false);
      response.onError(unavailable(e));
      return;
    }
    if (!removed) {
      tell(Call.Kind.DEREGISTER, false);
      response.onError(Status.NOT_FOUND.withDescription("lease '" + request.getLeaseId()
          + "' is unknown or expired").asException());
      return;
    }
    response.onNext(DeregisterResponse.getDefaultInstance());
    tell(Call.Kind.DEREGISTER, true);
    response.onCompleted();
  }

  private static Caller caller() {
    return Optional.ofNullable(BearerTokenInterceptor.CALLER.get()).orElse(new Caller(Optional.empty(), List.of()));
  }

  /**
   * Why the caller may not renew or end {@code leaseId}, if it may not: a lease this registry knows belongs to the
   * identity that registered it; anyone else is refused with PERMISSION_DENIED. An unknown lease is left to the
   * registry, which answers NOT_FOUND.
   */
  private Optional<StatusException> refusalOfLease(String leaseId) {
    Optional<String> owner = registry.clientOfLease(leaseId);
    if (owner.isEmpty()) {
      return Optional.empty();
    }
    String client;
    try {
      client = RegistrationPermissions.identify(settings.get().registration(), caller()).client();
    } catch (StatusException e) {
      return Optional.of(e);
    }
    if (owner.get().equals(client)) {
      return Optional.empty();
    }
    log.warn("refused a keep-alive or deregistration from {}: the lease belongs to {}", client,
        dev.protomatch.util.ClientText.clip(owner.get(), dev.protomatch.util.ClientText.MAX_NODE_FIELD));
    return Optional.of(Status.PERMISSION_DENIED.withDescription("lease '" + leaseId
        + "' belongs to another registrant; only the identity that registered it can renew or deregister it")
        .asException());
  }

  /** The registry's store cannot be reached: retryable, and nothing already registered is lost. */
  private static StatusException unavailable(RegistryUnavailableException e) {
    return Status.UNAVAILABLE.withDescription(e.getMessage() + "; retry later").asException();
  }

  private void tell(Call.Kind kind, boolean accepted) {
    Call call = new Call(kind, accepted);
    listeners.announce(call);
  }

  private static Duration ttl(RegisterRequest request, Settings.Lease lease) {
    if (!request.hasTtl()) {
      return lease.defaultTtl();
    }
    Duration requested = Duration.ofMillis(Durations.toMillis(request.getTtl()));
    if (requested.compareTo(lease.minTtl()) < 0) {
      return lease.minTtl();
    }
    return requested.compareTo(lease.maxTtl()) > 0 ? lease.maxTtl() : requested;
  }

  private static Timestamp timestamp(Lease lease) {
    return Timestamps.fromMillis(lease.expiresAt().toEpochMilli());
  }
}
