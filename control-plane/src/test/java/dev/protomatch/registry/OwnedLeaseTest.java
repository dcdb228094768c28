package dev.protomatch.registry;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.protomatch.testing.EtcdProcess;
import io.etcd.jetcd.Client;
import java.net.ServerSocket;
import java.time.Duration;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** {@link OwnedLease} against a real etcd. */
class OwnedLeaseTest {
  private static final Duration TIMEOUT = Duration.ofSeconds(2);
  private static EtcdProcess etcd;
  private static Client client;

  @BeforeAll
  static void startEtcd() {
    etcd = EtcdProcess.startSingle();
    client = Client.builder().endpoints("http://127.0.0.1:" + etcd.clientPort(0)).build();
  }

  @AfterAll
  static void stopEtcd() {
    client.close();
    etcd.close();
  }

  @Test
  void acquireGrantsOnceThenReturnsTheSameLease() {
    OwnedLease lease = new OwnedLease(client, Duration.ofSeconds(9), TIMEOUT);
    assertThat(lease.held()).isFalse();

    long id = lease.acquire();

    assertThat(id).isPositive();
    assertThat(lease.acquire()).isEqualTo(id);
    assertThat(lease.renewEveryMillis()).isEqualTo(3_000);
    assertThat(lease.renew()).isTrue();
  }

  @Test
  void renewSaysWhenEtcdForgotTheLease() throws Exception {
    OwnedLease lease = new OwnedLease(client, Duration.ofSeconds(30), TIMEOUT);
    long id = lease.acquire();
    client.getLeaseClient().revoke(id).get(5, TimeUnit.SECONDS);

    assertThat(lease.renew()).isFalse();
    assertThat(lease.held()).isFalse();
    assertThat(lease.acquire()).isNotEqualTo(id);
  }

  @Test
  void revokeEndsTheLeaseInEtcd() throws Exception {
    OwnedLease lease = new OwnedLease(client, Duration.ofSeconds(30), TIMEOUT);
    long id = lease.acquire();

    assertThat(lease.revoke()).isEmpty();

    assertThat(lease.held()).isFalse();
    assertThat(client.getLeaseClient().timeToLive(id, io.etcd.jetcd.options.LeaseOption.DEFAULT)
        .get(5, TimeUnit.SECONDS).getTTL()).isEqualTo(-1);
  }

  @Test
  void aCallEtcdDoesNotAnswerFailsWithOneLine() throws Exception {
    int port;
    try (ServerSocket socket = new ServerSocket(0)) {
      port = socket.getLocalPort();
    }
    try (Client nowhere = Client.builder().endpoints("http://127.0.0.1:" + port).build()) {
      OwnedLease lease = new OwnedLease(nowhere, Duration.ofSeconds(30), Duration.ofMillis(300));
      assertThatThrownBy(lease::acquire).isInstanceOf(IllegalStateException.class)
          .hasMessage("no answer within 300 ms");
      assertThat(lease.revoke()).isEmpty(); // none held: nothing to say
    }
  }
}
