package dev.protomatch.registry;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Path;
import java.util.List;
import java.util.Optional;
import org.junit.jupiter.api.Test;

class EtcdTargetTest {
  @Test
  void parsesPlainAndTlsTargets() {
    assertThat(EtcdTarget.parse("etcd://127.0.0.1:2379,10.0.0.2:2379,[::1]:2379"))
        .isEqualTo(new EtcdTarget(List.of("127.0.0.1:2379", "10.0.0.2:2379", "[::1]:2379"), false, Optional.empty()));
    EtcdTarget tls = EtcdTarget.parse("etcds://etcd-0.etcd:2379?ca=/etc/etcd/ca.pem");
    assertThat(tls).isEqualTo(new EtcdTarget(List.of("etcd-0.etcd:2379"), true, Optional.of(Path.of("/etc/etcd/ca.pem"))));
    assertThat(tls.clientUris()).containsExactly("https://etcd-0.etcd:2379");
  }

  @Test
  void malformedUrlsGetOneLineSayingWhat() {
    assertThatThrownBy(() -> EtcdTarget.parse("http://127.0.0.1:2379"))
        .hasMessage("malformed etcd registry URL 'http://127.0.0.1:2379': unknown scheme (expected "
            + "etcd://host:port[,host:port...] or etcds://host:port[,host:port...][?ca=/path/ca.pem])");
    assertThatThrownBy(() -> EtcdTarget.parse("etcd://127.0.0.1")).hasMessageContaining("'127.0.0.1' has no port");
    assertThatThrownBy(() -> EtcdTarget.parse("etcd://a:1,")).hasMessageContaining("empty host:port");
    assertThatThrownBy(() -> EtcdTarget.parse("etcd://a:99999")).hasMessageContaining("port 99999 is outside");
    assertThatThrownBy(() -> EtcdTarget.parse("etcd://::1:2379")).hasMessageContaining("in brackets");
    assertThatThrownBy(() -> EtcdTarget.parse("etcd://a:1?ca=/x")).hasMessageContaining("ca= needs TLS");
    assertThatThrownBy(() -> EtcdTarget.parse("etcd://a:x")).hasMessageContaining("port 'x' is not a number");
  }
}
