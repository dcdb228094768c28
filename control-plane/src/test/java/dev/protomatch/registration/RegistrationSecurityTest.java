package dev.protomatch.registration;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.protomatch.api.v1.DeregisterRequest;
import dev.protomatch.api.v1.Endpoint;
import dev.protomatch.api.v1.KeepAliveRequest;
import dev.protomatch.api.v1.RegisterRequest;
import dev.protomatch.api.v1.RegisterResponse;
import dev.protomatch.api.v1.RegistrationGrpc;
import dev.protomatch.api.v1.ServiceAdvertisement;
import dev.protomatch.descriptor.DescriptorHasher;
import dev.protomatch.policy.AddressBlock;
import dev.protomatch.policy.Settings;
import dev.protomatch.registry.EndpointAddress;
import dev.protomatch.registry.InMemoryEndpointRegistry;
import dev.protomatch.testing.TestClock;
import dev.protomatch.testing.TestPki;
import io.grpc.ChannelCredentials;
import io.grpc.Grpc;
import io.grpc.InsecureChannelCredentials;
import io.grpc.ManagedChannel;
import io.grpc.Metadata;
import io.grpc.Server;
import io.grpc.ServerCredentials;
import io.grpc.ServerInterceptors;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.TlsChannelCredentials;
import io.grpc.TlsServerCredentials;
import io.grpc.netty.shaded.io.grpc.netty.NettyChannelBuilder;
import io.grpc.netty.shaded.io.grpc.netty.NettyServerBuilder;
import io.grpc.stub.MetadataUtils;
import java.net.InetSocketAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Who may register what, attacked through the real registration API over TCP: registrants on different
 * loopback source addresses are different identities; with mTLS, client certificates carry the identities.
 */
class RegistrationSecurityTest {
  private static final String TOKEN = "s3cret-registration-token";
  private static final String GREETER = "demo.Greeter";

  private final TestClock clock = TestClock.atEpochPlusOneDay();
  private final InMemoryEndpointRegistry registry = new InMemoryEndpointRegistry(clock);
  private final AtomicReference<Settings> settings = new AtomicReference<>(Settings.defaults()
      .withAuth(new Settings.Auth(Optional.empty(), Optional.of("TEST_TOKEN"), false)));
  private final List<ManagedChannel> channels = new ArrayList<>();
  private Server server;

  @TempDir
  Path dir;

  @AfterEach
  void stop() throws InterruptedException {
    channels.forEach(ManagedChannel::shutdownNow);
    if (server != null) {
      server.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
    }
  }

  @Test
  void aSecondRegistrantCannotTakeOverAnAddress() throws Exception {
    start(io.grpc.InsecureServerCredentials.create());
    RegisterResponse owner = from("127.0.0.2").register(request("127.0.0.9", GREETER));

    assertDenied(() -> from("127.0.0.3").register(request("127.0.0.9", GREETER)),
        "127.0.0.9:50051 is registered by another registrant");
    assertThat(registry.state().endpoints().get(new EndpointAddress("127.0.0.9", 50051)).client()).isEqualTo("127.0.0.2");
    from("127.0.0.2").keepAlive(KeepAliveRequest.newBuilder().setLeaseId(owner.getLeaseId()).build());
  }

  @Test
  void anotherRegistrantCannotRenewOrDeregisterALease() throws Exception {
    start(io.grpc.InsecureServerCredentials.create());
    RegisterResponse owner = from("127.0.0.2").register(request("127.0.0.9", GREETER));

    assertDenied(() -> from("127.0.0.3").deregister(DeregisterRequest.newBuilder().setLeaseId(owner.getLeaseId()).build()),
        "belongs to another registrant");
    assertDenied(() -> from("127.0.0.3").keepAlive(KeepAliveRequest.newBuilder().setLeaseId(owner.getLeaseId()).build()),
        "belongs to another registrant");
    assertThat(registry.isRegistered(new EndpointAddress("127.0.0.9", 50051))).isTrue();
  }

  @Test
  void aRegistrantCannotNameAForeignHost() throws Exception {
    start(io.grpc.InsecureServerCredentials.create());

    assertDenied(() -> from("127.0.0.2").register(request("10.20.30.40", GREETER)),
        "endpoint.host 10.20.30.40 is not the caller's own address (127.0.0.2)");
    assertThat(registry.state().endpoints()).isEmpty();
  }

  @Test
  void hostsAnyLetsATrustedRegistrarNameAnyHost() throws Exception {
    settings.set(settings.get().withRegistration(new Settings.Registration(true, List.of())));
    start(io.grpc.InsecureServerCredentials.create());

    from("127.0.0.2").register(request("10.20.30.40", GREETER));

    assertThat(registry.isRegistered(new EndpointAddress("10.20.30.40", 50051))).isTrue();
  }

  @Test
  void aRegistrationCannotReplaceAStaticEndpoint() throws Exception {
    start(io.grpc.InsecureServerCredentials.create());
    registry.replaceStaticEndpoints(Map.of(new EndpointAddress("127.0.0.9", 50051), Set.of(GREETER)));

    assertDenied(() -> from("127.0.0.2").register(request("127.0.0.9", GREETER)),
        "127.0.0.9:50051 is a static endpoint of the config file");
  }

  @Test
  void anMtlsIdentityRegistersOnlyTheServicesThePolicyGivesIt() throws Exception {
    TestPki pki = TestPki.create(dir);
    settings.set(settings.get().withRegistration(new Settings.Registration(false, List.of(
        new Settings.IdentityGrant("spiffe://test/greeter", List.of(GREETER), List.of(AddressBlock.parse("10.1.0.0/16").orElseThrow()))))));
    start(TlsServerCredentials.newBuilder().keyManager(pki.serverCert().toFile(), pki.serverKey().toFile())
        .trustManager(pki.ca().toFile()).clientAuth(TlsServerCredentials.ClientAuth.REQUIRE).build());
    RegistrationGrpc.RegistrationBlockingStub greeter = withCertificate(pki, pki.client("greeter", "URI:spiffe://test/greeter"));
    RegistrationGrpc.RegistrationBlockingStub stranger = withCertificate(pki, pki.client("stranger", "URI:spiffe://test/stranger"));

    greeter.register(request("127.0.0.9", GREETER));
    greeter.register(request("10.1.2.3", GREETER)); // a host its grant lists
    assertDenied(() -> greeter.register(request("127.0.0.10", "demo.Billing")),
        "identity spiffe://test/greeter may not register service demo.Billing");
    assertDenied(() -> greeter.register(request("10.2.0.1", GREETER)), "is not the caller's own address");
    assertDenied(() -> stranger.register(request("127.0.0.11", GREETER)),
        "client certificate identities spiffe://test/stranger are not listed in settings.registration.identities");
    assertThat(registry.state().endpoints().keySet()).containsExactlyInAnyOrder(
        new EndpointAddress("127.0.0.9", 50051), new EndpointAddress("10.1.2.3", 50051));
    assertThat(registry.state().endpoints().get(new EndpointAddress("127.0.0.9", 50051)).client())
        .isEqualTo("spiffe://test/greeter");
  }

  @Test
  void aTokenRotationWithOverlapLosesNoLease() throws Exception {
    Path tokenFile = Files.writeString(dir.resolve("token"), "old-token\n");
    settings.set(settings.get().withAuth(new Settings.Auth(Optional.of(tokenFile), Optional.empty(), false)));
    BearerTokenInterceptor tokens = start(io.grpc.InsecureServerCredentials.create());
    RegisterResponse lease = from("127.0.0.2", "old-token").register(request("127.0.0.9", GREETER));

    Files.writeString(tokenFile, "old-token new-token\n"); // the overlap: both accepted
    waitForTokens();
    from("127.0.0.2", "old-token").keepAlive(keepAlive(lease));
    from("127.0.0.2", "new-token").keepAlive(keepAlive(lease));
    Files.writeString(tokenFile, "new-token\n"); // the old one retired
    waitForTokens();
    from("127.0.0.2", "new-token").keepAlive(keepAlive(lease));
    assertThatThrownBy(() -> from("127.0.0.2", "old-token").keepAlive(keepAlive(lease)))
        .satisfies(e -> assertThat(Status.fromThrowable(e).getCode()).isEqualTo(Status.Code.UNAUTHENTICATED));

    Files.delete(tokenFile); // unreadable: the tokens read last stand in
    waitForTokens();
    from("127.0.0.2", "new-token").keepAlive(keepAlive(lease));
    assertThat(tokens.usingLastGoodToken()).isTrue();
    assertThat(registry.isRegistered(new EndpointAddress("127.0.0.9", 50051))).isTrue();
  }

  /** The interceptor re-reads its token source every 5 s. */
  private static void waitForTokens() throws InterruptedException {
    Thread.sleep(5_200);
  }

  private BearerTokenInterceptor start(ServerCredentials credentials) throws Exception {
    RegistrationService service = new RegistrationService(registry, settings::get, new DescriptorHasher());
    BearerTokenInterceptor tokens = new BearerTokenInterceptor(() -> settings.get().auth(), Map.of("TEST_TOKEN", TOKEN)::get);
    server = NettyServerBuilder.forAddress(new InetSocketAddress("127.0.0.1", 0), credentials)
        .addService(ServerInterceptors.intercept(service, tokens))
        .build().start();
    return tokens;
  }

  /** A stub whose calls come from {@code sourceAddress} (a loopback address), with the test token. */
  private RegistrationGrpc.RegistrationBlockingStub from(String sourceAddress) {
    return from(sourceAddress, TOKEN);
  }

  private RegistrationGrpc.RegistrationBlockingStub from(String sourceAddress, String token) {
    ManagedChannel channel = NettyChannelBuilder.forAddress("127.0.0.1", server.getPort(), InsecureChannelCredentials.create())
        .localSocketPicker(new NettyChannelBuilder.LocalSocketPicker() {
          @Override
          public java.net.SocketAddress createSocketAddress(java.net.SocketAddress remote, io.grpc.Attributes attrs) {
            return new InetSocketAddress(sourceAddress, 0);
          }
        })
        .build();
    channels.add(channel);
    return withToken(RegistrationGrpc.newBlockingStub(channel), token);
  }

  private RegistrationGrpc.RegistrationBlockingStub withCertificate(TestPki pki, Path certificate) throws Exception {
    ChannelCredentials credentials = TlsChannelCredentials.newBuilder()
        .keyManager(certificate.toFile(), pki.keyOf(certificate).toFile()).trustManager(pki.ca().toFile()).build();
    ManagedChannel channel = Grpc.newChannelBuilderForAddress("127.0.0.1", server.getPort(), credentials)
        .overrideAuthority("localhost").build();
    channels.add(channel);
    return withToken(RegistrationGrpc.newBlockingStub(channel), TOKEN);
  }

  private static RegistrationGrpc.RegistrationBlockingStub withToken(RegistrationGrpc.RegistrationBlockingStub stub,
                                                                     String token) {
    Metadata headers = new Metadata();
    headers.put(Metadata.Key.of("authorization", Metadata.ASCII_STRING_MARSHALLER), "Bearer " + token);
    return stub.withInterceptors(MetadataUtils.newAttachHeadersInterceptor(headers)).withDeadlineAfter(10, TimeUnit.SECONDS);
  }

  private static RegisterRequest request(String host, String service) {
    return RegisterRequest.newBuilder().setEndpoint(Endpoint.newBuilder().setHost(host).setPort(50051)
        .addServices(ServiceAdvertisement.newBuilder().setName(service)
            .setApiHash("sha256:" + "ab".repeat(32)))).build();
  }

  private static KeepAliveRequest keepAlive(RegisterResponse lease) {
    return KeepAliveRequest.newBuilder().setLeaseId(lease.getLeaseId()).build();
  }

  private static void assertDenied(org.assertj.core.api.ThrowableAssert.ThrowingCallable call, String description) {
    assertThatThrownBy(call).isInstanceOfSatisfying(StatusRuntimeException.class, e -> {
      assertThat(e.getStatus().getCode()).isEqualTo(Status.Code.PERMISSION_DENIED);
      assertThat(e.getStatus().getDescription()).contains(description);
    });
  }
}
