package dev.protomatch.registration;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.google.protobuf.ByteString;
import com.google.protobuf.util.Durations;
import com.google.protobuf.util.Timestamps;
import dev.protomatch.api.v1.DeregisterRequest;
import dev.protomatch.api.v1.Endpoint;
import dev.protomatch.api.v1.KeepAliveRequest;
import dev.protomatch.api.v1.RegisterRequest;
import dev.protomatch.api.v1.RegisterResponse;
import dev.protomatch.api.v1.RegistrationGrpc;
import dev.protomatch.api.v1.ServiceAdvertisement;
import dev.protomatch.descriptor.DescriptorHasher;
import dev.protomatch.policy.Settings;
import dev.protomatch.registry.EndpointAddress;
import dev.protomatch.registry.EndpointRegistration;
import dev.protomatch.registry.EndpointRegistry;
import dev.protomatch.registry.EndpointState;
import dev.protomatch.registry.Lease;
import dev.protomatch.registry.ProbeState;
import dev.protomatch.registry.RegistryState;
import dev.protomatch.registry.InMemoryEndpointRegistry;
import dev.protomatch.testing.DescriptorFixtures;
import dev.protomatch.testing.Fingerprints;
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
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** The registration API on a real loopback server: leases, authentication, validation and limits. */
class RegistrationServiceTest {
  private static final String TOKEN = "s3cret-registration-token";
  private static final int MAX_MESSAGE_BYTES = 64 * 1024;

  private final TestClock clock = TestClock.atEpochPlusOneDay();
  private final InMemoryEndpointRegistry registry = new InMemoryEndpointRegistry(clock);
  private final AtomicReference<Settings> settings = new AtomicReference<>(withLimits(
      new Settings.Auth(Optional.empty(), Optional.of("TEST_TOKEN"), false), new Settings.Limits(MAX_MESSAGE_BYTES, 3, 2, 1_000)));
  private final List<RegistrationService.Call> calls = new java.util.concurrent.CopyOnWriteArrayList<>();
  private Server server;
  private ManagedChannel channel;

  @BeforeEach
  void start() throws IOException {
    RegistrationService service = new RegistrationService(registry, settings::get, new DescriptorHasher());
    service.addListener(calls::add);
    server = NettyServerBuilder.forAddress(new InetSocketAddress("127.0.0.1", 0))
        .maxInboundMessageSize(MAX_MESSAGE_BYTES)
        .addService(ServerInterceptors.intercept(service,
            new BearerTokenInterceptor(() -> settings.get().auth(), Map.of("TEST_TOKEN", TOKEN)::get)))
        .build().start();
    channel = NettyChannelBuilder.forAddress("127.0.0.1", server.getPort()).usePlaintext().build();
  }

  @AfterEach
  void stop() throws InterruptedException {
    channel.shutdownNow();
    server.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
  }

  @Test
  void registrationGrantsLeaseWithDefaultTtl() {
    RegisterResponse response = stub(TOKEN).register(request(50051, greeterV2WithDescriptors()));

    assertThat(response.getLeaseId()).isNotEmpty();
    assertThat(Durations.toSeconds(response.getTtl())).isEqualTo(30);
    assertThat(Timestamps.toMillis(response.getExpiresAt())).isEqualTo(clock.instant().plusSeconds(30).toEpochMilli());
    assertThat(registry.state().endpoints().get(new EndpointAddress("127.0.0.1", 50051)).advertised()
        .get("demo.Greeter").fingerprint()).contains(Fingerprints.greeterV2());
  }

  @Test
  void everyCallIsAnnouncedWithItsOutcome() {
    RegisterResponse lease = stub(TOKEN).register(request(50051, greeterV2WithDescriptors()));
    assertThatThrownBy(() -> stub(TOKEN).register(request(0, greeterV2WithDescriptors())));
    stub(TOKEN).keepAlive(KeepAliveRequest.newBuilder().setLeaseId(lease.getLeaseId()).build());
    assertThatThrownBy(() -> stub(TOKEN).keepAlive(KeepAliveRequest.newBuilder().setLeaseId("unknown").build()));
    stub(TOKEN).deregister(DeregisterRequest.newBuilder().setLeaseId(lease.getLeaseId()).build());
    assertThatThrownBy(() ->
        stub(TOKEN).deregister(DeregisterRequest.newBuilder().setLeaseId(lease.getLeaseId()).build()));

    assertThat(calls).containsExactly(
        new RegistrationService.Call(RegistrationService.Call.Kind.REGISTER, true),
        new RegistrationService.Call(RegistrationService.Call.Kind.REGISTER, false),
        new RegistrationService.Call(RegistrationService.Call.Kind.KEEP_ALIVE, true),
        new RegistrationService.Call(RegistrationService.Call.Kind.KEEP_ALIVE, false),
        new RegistrationService.Call(RegistrationService.Call.Kind.DEREGISTER, true),
        new RegistrationService.Call(RegistrationService.Call.Kind.DEREGISTER, false));
  }

  @Test
  void callsRefusedForTheirTokenNeverReachTheService() {
    assertThatThrownBy(() -> stub("guess").register(request(50051, greeterV2WithDescriptors())));

    assertThat(calls).isEmpty();
  }

  @Test
  void requestedTtlIsClampedToConfiguredBounds() {
    RegisterResponse response = stub(TOKEN).register(request(50051, greeterV2WithDescriptors()).toBuilder()
        .setTtl(Durations.fromSeconds(3600)).build());

    assertThat(Durations.toSeconds(response.getTtl())).isEqualTo(300);
  }

  @Test
  void keepAliveExtendsLease() {
    RegisterResponse lease = stub(TOKEN).register(request(50051, greeterV2WithDescriptors()));
    clock.advance(Duration.ofSeconds(25));

    var renewed = stub(TOKEN).keepAlive(KeepAliveRequest.newBuilder().setLeaseId(lease.getLeaseId()).build());

    assertThat(Timestamps.toMillis(renewed.getExpiresAt())).isEqualTo(clock.instant().plusSeconds(30).toEpochMilli());
  }

  @Test
  void keepAliveAfterExpiryIsNotFound() {
    RegisterResponse lease = stub(TOKEN).register(request(50051, greeterV2WithDescriptors()));
    clock.advance(Duration.ofSeconds(31));

    assertThatThrownBy(() -> stub(TOKEN).keepAlive(KeepAliveRequest.newBuilder().setLeaseId(lease.getLeaseId()).build()))
        .satisfies(e -> assertStatus(e, Status.Code.NOT_FOUND,
            "lease '" + lease.getLeaseId() + "' is unknown or expired; register again"));
  }

  @Test
  void deregistrationRemovesEndpoint() {
    RegisterResponse lease = stub(TOKEN).register(request(50051, greeterV2WithDescriptors()));

    stub(TOKEN).deregister(DeregisterRequest.newBuilder().setLeaseId(lease.getLeaseId()).build());

    assertThat(registry.state().endpoints()).isEmpty();
  }

  @Test
  void missingTokenIsUnauthenticated() {
    assertThatThrownBy(() -> RegistrationGrpc.newBlockingStub(channel).register(request(50051, greeterV2WithDescriptors())))
        .satisfies(e -> assertStatus(e, Status.Code.UNAUTHENTICATED,
            "missing bearer token: send metadata 'authorization: Bearer <token>'"));
    assertThat(registry.state().endpoints()).isEmpty();
  }

  @Test
  void wrongTokenIsUnauthenticated() {
    assertThatThrownBy(() -> stub("guess").register(request(50051, greeterV2WithDescriptors())))
        .satisfies(e -> assertStatus(e, Status.Code.UNAUTHENTICATED, "invalid bearer token"));
  }

  @Test
  void insecureSettingAcceptsCallsWithoutToken() {
    settings.set(withLimits(Settings.Auth.insecureForDevelopment(), settings.get().limits()));

    RegisterResponse response = RegistrationGrpc.newBlockingStub(channel).register(request(50051, greeterV2WithDescriptors()));

    assertThat(response.getLeaseId()).isNotEmpty();
  }

  @Test
  void tooManyServicesPerEndpointIsRefused() {
    RegisterRequest.Builder request = request(50051, greeterV2WithDescriptors()).toBuilder();
    for (int i = 0; i < 3; i++) {
      request.getEndpointBuilder().addServices(ServiceAdvertisement.newBuilder().setName("demo.Extra" + i)
          .setApiHash(Fingerprints.greeterV1().api().value()));
    }

    assertThatThrownBy(() -> stub(TOKEN).register(request.build()))
        .satisfies(e -> assertStatus(e, Status.Code.RESOURCE_EXHAUSTED,
            "endpoint 127.0.0.1:50051 advertises 4 services; the limit is 3 (settings.limits.max-services-per-endpoint)"));
  }

  @Test
  void tooManyEndpointsPerClientIsRefusedButReRegistrationIsNot() {
    stub(TOKEN).register(request(50051, greeterV2WithDescriptors()));
    stub(TOKEN).register(request(50052, greeterV2WithDescriptors()));

    assertThatThrownBy(() -> stub(TOKEN).register(request(50053, greeterV2WithDescriptors())))
        .satisfies(e -> assertStatus(e, Status.Code.RESOURCE_EXHAUSTED,
            "client 127.0.0.1 already registered 2 endpoints; the limit is 2 (settings.limits.max-endpoints-per-client)"));
    assertThat(stub(TOKEN).register(request(50052, greeterV2WithDescriptors())).getLeaseId()).isNotEmpty();
  }

  @Test
  void theGlobalEndpointCapRefusesNewAddressesButNotRenewals() {
    settings.set(withLimits(settings.get().auth(), new Settings.Limits(MAX_MESSAGE_BYTES, 3, 10, 1_000, 2)));
    stub(TOKEN).register(request(50051, greeterV2WithDescriptors()));
    RegisterResponse second = stub(TOKEN).register(request(50052, greeterV2WithDescriptors()));

    assertThatThrownBy(() -> stub(TOKEN).register(request(50053, greeterV2WithDescriptors())))
        .satisfies(e -> assertStatus(e, Status.Code.RESOURCE_EXHAUSTED,
            "2 endpoints are registered; the limit is 2 (settings.limits.max-endpoints)"));
    assertThat(stub(TOKEN).register(request(50052, greeterV2WithDescriptors())).getLeaseId()).isNotEmpty();
    assertThat(registry.state().endpoints()).hasSize(2);
    assertThat(second.getLeaseId()).isNotEmpty();
  }

  @Test
  void concurrentRegistrationsOfOneClientCannotAllSlipUnderTheLimit() throws Exception {
    // A registry as slow to store as etcd across a network: every caller checks the count before any stores.
    EndpointRegistry slow = new SlowToRegister(new InMemoryEndpointRegistry(clock), Duration.ofMillis(200));
    RegistrationService service = new RegistrationService(slow, settings::get, new DescriptorHasher());
    Server slowServer = NettyServerBuilder.forAddress(new InetSocketAddress("127.0.0.1", 0))
        .addService(ServerInterceptors.intercept(service,
            new BearerTokenInterceptor(() -> settings.get().auth(), Map.of("TEST_TOKEN", TOKEN)::get)))
        .build().start();
    ManagedChannel slowChannel = NettyChannelBuilder.forAddress("127.0.0.1", slowServer.getPort()).usePlaintext()
        .build();
    try {
      Metadata headers = new Metadata();
      headers.put(Metadata.Key.of("authorization", Metadata.ASCII_STRING_MARSHALLER), "Bearer " + TOKEN);
      RegistrationGrpc.RegistrationBlockingStub stub = RegistrationGrpc.newBlockingStub(slowChannel)
          .withInterceptors(MetadataUtils.newAttachHeadersInterceptor(headers));
      List<java.util.concurrent.Future<Boolean>> outcomes = new ArrayList<>();
      java.util.concurrent.ExecutorService callers = java.util.concurrent.Executors.newFixedThreadPool(8);
      for (int i = 0; i < 8; i++) {
        int port = 50061 + i;
        outcomes.add(callers.submit(() -> {
          try {
            stub.register(request(port, greeterV2WithDescriptors()));
            return true;
          } catch (StatusRuntimeException e) {
            return false;
          }
        }));
      }
      int accepted = 0;
      for (java.util.concurrent.Future<Boolean> outcome : outcomes) {
        accepted += outcome.get(30, TimeUnit.SECONDS) ? 1 : 0;
      }
      callers.shutdown();

      assertThat(accepted).isEqualTo(2); // settings.limits.max-endpoints-per-client in this test
      assertThat(slow.countByClient("127.0.0.1")).isEqualTo(2);
    } finally {
      slowChannel.shutdownNow();
      slowServer.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
    }
  }

  /** Delegates to a registry, taking {@code delay} before each registration is stored. */
  private static final class SlowToRegister implements EndpointRegistry {
    private final EndpointRegistry registry;
    private final Duration delay;

    SlowToRegister(EndpointRegistry registry, Duration delay) {
      this.registry = registry;
      this.delay = delay;
    }

    @Override
    public Lease register(EndpointRegistration registration, Duration ttl) {
      try {
        Thread.sleep(delay.toMillis());
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
      return registry.register(registration, ttl);
    }

    @Override
    public Optional<Lease> renew(String leaseId) {
      return registry.renew(leaseId);
    }

    @Override
    public boolean deregister(String leaseId) {
      return registry.deregister(leaseId);
    }

    @Override
    public void replaceStaticEndpoints(Map<EndpointAddress, java.util.Set<String>> servicesByAddress) {
      registry.replaceStaticEndpoints(servicesByAddress);
    }

    @Override
    public void recordProbe(EndpointAddress address, long generation, ProbeState outcome) {
      registry.recordProbe(address, generation, outcome);
    }

    @Override
    public List<EndpointState> removeExpired(Duration retention) {
      return registry.removeExpired(retention);
    }

    @Override
    public int countByClient(String client) {
      return registry.countByClient(client);
    }

    @Override
    public boolean isRegistered(EndpointAddress address) {
      return registry.isRegistered(address);
    }

    @Override
    public int registeredCount() {
      return registry.registeredCount();
    }

    @Override
    public Optional<String> clientOfLease(String leaseId) {
      return registry.clientOfLease(leaseId);
    }

    @Override
    public RegistryState state() {
      return registry.state();
    }

    @Override
    public void addListener(Runnable onChange) {
      registry.addListener(onChange);
    }
  }

  @Test
  void oversizedRegistrationIsRefused() {
    ServiceAdvertisement huge = ServiceAdvertisement.newBuilder().setName("demo.Greeter")
        .setFileDescriptorSet(ByteString.copyFrom(new byte[MAX_MESSAGE_BYTES + 1])).build();

    assertThatThrownBy(() -> stub(TOKEN).register(request(50051, huge)))
        .isInstanceOfSatisfying(StatusRuntimeException.class,
            e -> assertThat(e.getStatus().getCode()).isEqualTo(Status.Code.RESOURCE_EXHAUSTED));
  }

  @Test
  void malformedHashIsRefusedNamingTheField() {
    ServiceAdvertisement bad = ServiceAdvertisement.newBuilder().setName("demo.Greeter").setApiHash("sha256:abc").build();

    assertThatThrownBy(() -> stub(TOKEN).register(request(50051, bad)))
        .satisfies(e -> assertStatus(e, Status.Code.INVALID_ARGUMENT, "endpoint.services[0].api_hash: malformed"
            + " descriptor hash 'sha256:abc' (expected sha256: followed by 64 lower-case hex digits)"));
  }

  @Test
  void advertisedHashContradictingAttachedDescriptorsIsRefused() {
    ServiceAdvertisement lying = greeterV2WithDescriptors().toBuilder()
        .setApiHash(Fingerprints.greeterV1().api().value()).build();

    assertThatThrownBy(() -> stub(TOKEN).register(request(50051, lying)))
        .satisfies(e -> assertStatus(e, Status.Code.INVALID_ARGUMENT, "endpoint.services[0].api_hash "
            + Fingerprints.greeterV1().api() + " does not match the attached file_descriptor_set, which hashes to "
            + Fingerprints.greeterV2().api()));
  }

  @Test
  void invalidPortIsRefused() {
    assertThatThrownBy(() -> stub(TOKEN).register(request(0, greeterV2WithDescriptors())))
        .satisfies(e -> assertStatus(e, Status.Code.INVALID_ARGUMENT, "endpoint.port must be within 1..65535, got 0"));
  }

  @Test
  void refusedRegistrationLeavesEarlierRegistrationsIntact() {
    stub(TOKEN).register(request(50051, greeterV2WithDescriptors()));
    var before = registry.state();

    assertThatThrownBy(() -> stub(TOKEN).register(request(50051, ServiceAdvertisement.newBuilder()
        .setName("demo.Greeter").setApiHash("nope").build())));

    assertThat(registry.state()).isEqualTo(before);
  }

  private RegistrationGrpc.RegistrationBlockingStub stub(String token) {
    Metadata headers = new Metadata();
    headers.put(Metadata.Key.of("authorization", Metadata.ASCII_STRING_MARSHALLER), "Bearer " + token);
    return RegistrationGrpc.newBlockingStub(channel).withInterceptors(MetadataUtils.newAttachHeadersInterceptor(headers));
  }

  private static RegisterRequest request(int port, ServiceAdvertisement service) {
    return RegisterRequest.newBuilder()
        .setEndpoint(Endpoint.newBuilder().setHost("127.0.0.1").setPort(port).addServices(service))
        .build();
  }

  static ServiceAdvertisement greeterV2WithDescriptors() {
    return ServiceAdvertisement.newBuilder().setName("demo.Greeter")
        .setFileDescriptorSet(ByteString.copyFrom(DescriptorFixtures.GREETER_V2.protocSetBytes())).build();
  }

  private static Settings withLimits(Settings.Auth auth, Settings.Limits limits) {
    Settings defaults = Settings.defaults();
    return new Settings(defaults.lease(), defaults.probe(), auth, limits);
  }

  private static void assertStatus(Throwable e, Status.Code code, String description) {
    assertThat(e).isInstanceOf(StatusRuntimeException.class);
    Status status = ((StatusRuntimeException) e).getStatus();
    assertThat(status.getCode()).isEqualTo(code);
    assertThat(status.getDescription()).isEqualTo(description);
  }
}
