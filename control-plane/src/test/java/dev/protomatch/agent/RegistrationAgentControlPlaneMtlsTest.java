package dev.protomatch.agent;

import static org.assertj.core.api.Assertions.assertThat;

import com.google.protobuf.util.Durations;
import dev.protomatch.api.v1.Endpoint;
import dev.protomatch.api.v1.RegisterRequest;
import dev.protomatch.api.v1.ServiceAdvertisement;
import dev.protomatch.descriptor.RuntimeDescriptors;
import dev.protomatch.registry.EndpointAddress;
import dev.protomatch.server.ControlPlane;
import dev.protomatch.server.ControlPlaneOptions;
import java.nio.file.Path;
import java.time.Clock;
import java.util.Map;
import java.util.Optional;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The agent against the real control plane started as {@code serve --tls-cert --tls-key --tls-client-ca} would start
 * it: over mTLS with a bearer token, it registers, and deregisters on close.
 */
class RegistrationAgentControlPlaneMtlsTest {
  private static final String TOKEN = "agent-tls-test-token";

  @TempDir
  Path dir;
  private TestCertificates certificates;
  private ControlPlane controlPlane;

  @BeforeEach
  void start() throws Exception {
    certificates = TestCertificates.make(dir);
    ControlPlaneOptions.TlsFiles tls = new ControlPlaneOptions.TlsFiles(certificates.serverChain(),
        certificates.serverKey(), Optional.of(certificates.ca()));
    ControlPlaneOptions plain = ControlPlaneOptions.loopbackDefaults(Optional.empty()).withPorts(0, 0, 0);
    controlPlane = ControlPlane.start(new ControlPlaneOptions(plain.bindHost(), plain.adminBindHost(), 0, 0, 0,
        Optional.empty(), plain.envoyListenerHost(), plain.envoyListenerPort(), Optional.of(tls), plain.debounce(),
        plain.policyPollInterval(), plain.warmup(), plain.etcd(), plain.replicaId()), Clock.systemUTC(),
        Map.of("PROTOMATCH_REGISTRATION_TOKEN", TOKEN)::get);
  }

  @AfterEach
  void stop() {
    controlPlane.close();
  }

  @Test
  void agentWithClientCertificateAndTokenRegistersAndDeregisters() {
    EndpointAddress address = new EndpointAddress("127.0.0.1", 50123);
    RegistrationTls tls = RegistrationTls.trusting(certificates.ca())
        .withClientCertificate(certificates.clientChain(), certificates.clientKey());

    try (RegistrationAgent agent = new RegistrationAgent("127.0.0.1:" + controlPlane.registrationPort(),
        tls.credentials(), Optional.of(TOKEN), request(address))) {
      agent.start();

      assertThat(controlPlane.registry().isRegistered(address)).isTrue();
    }
    assertThat(controlPlane.registry().isRegistered(address)).isFalse();
  }

  private static RegisterRequest request(EndpointAddress address) {
    return RegisterRequest.newBuilder()
        .setEndpoint(Endpoint.newBuilder().setHost(address.host()).setPort(address.port())
            .addServices(ServiceAdvertisement.newBuilder().setName("demo.Greeter").setFileDescriptorSet(
                RuntimeDescriptors.fileDescriptorSet(dev.protomatch.demo.v1.GreeterProto.getDescriptor()).toByteString())))
        .setTtl(Durations.fromSeconds(10))
        .build();
  }
}
