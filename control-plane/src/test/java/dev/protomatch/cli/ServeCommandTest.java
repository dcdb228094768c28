package dev.protomatch.cli;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.protomatch.server.ControlPlaneOptions;
import org.junit.jupiter.api.Test;
import picocli.CommandLine;

/** What {@code protomatch serve}'s flags mean, before anything listens. */
class ServeCommandTest {
  @Test
  void everyPortBindsToLoopbackByDefault() {
    ControlPlaneOptions options = parse();

    assertThat(options.bindHost()).isEqualTo("127.0.0.1");
    assertThat(options.adminBindHost()).isEqualTo("127.0.0.1");
  }

  @Test
  void exposingTheGrpcPortsLeavesTheAdminPortOnLoopback() {
    ControlPlaneOptions options = parse("--bind", "0.0.0.0");

    assertThat(options.bindHost()).isEqualTo("0.0.0.0");
    assertThat(options.adminBindHost()).isEqualTo("127.0.0.1");
  }

  @Test
  void exposingTheAdminPortTakesItsOwnFlag() {
    assertThat(parse("--admin-bind", "0.0.0.0").adminBindHost()).isEqualTo("0.0.0.0");
  }

  @Test
  void warmupDefaultsToOneLeaseTtl() {
    assertThat(parse().warmup()).isEmpty();
    assertThat(parse("--warmup-seconds", "0").warmup()).hasValue(java.time.Duration.ZERO);
  }

  @Test
  void tlsKeyWithoutCertificateIsAUserError() {
    assertThatThrownBy(() -> parse("--tls-key", "key.pem"))
        .isInstanceOf(UserInputException.class)
        .hasMessage("--tls-cert and --tls-key go together (and --tls-client-ca needs both)");
  }

  @Test
  void theRegistryIsInMemoryUnlessAnEtcdUrlIsGiven() {
    assertThat(parse().etcd()).isEmpty();
    assertThat(parse("--registry", "etcd://127.0.0.1:2379,127.0.0.1:22379", "--replica-id", "a").etcd())
        .hasValueSatisfying(target -> assertThat(target.hostPorts()).containsExactly("127.0.0.1:2379",
            "127.0.0.1:22379"));
    assertThat(parse("--replica-id", "a").replicaId()).isEqualTo("a");
  }

  @Test
  void aMalformedRegistryUrlIsAUserError() {
    assertThatThrownBy(() -> parse("--registry", "redis://127.0.0.1:6379"))
        .isInstanceOf(UserInputException.class)
        .hasMessageStartingWith("--registry: ");
  }

  @Test
  void anUnreadableEtcdCaFileIsAUserError() {
    assertThatThrownBy(() -> parse("--registry", "etcds://127.0.0.1:2379?ca=/nonexistent/ca.pem"))
        .isInstanceOf(UserInputException.class)
        .hasMessage("--registry: cannot read the CA file /nonexistent/ca.pem");
  }

  private static ControlPlaneOptions parse(String... args) {
    ServeCommand command = new ServeCommand();
    new CommandLine(command).parseArgs(args);
    return command.options();
  }
}
