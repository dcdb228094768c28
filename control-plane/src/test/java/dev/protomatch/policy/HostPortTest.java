package dev.protomatch.policy;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatIllegalArgumentException;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/** {@code host:port}: a host name, IPv4 address or bracketed IPv6 address, and a port in 1..65535. */
class HostPortTest {

  @Test
  void readsEachKindOfHost() {
    assertThat(HostPort.parse("127.0.0.1:50051")).isEqualTo(new HostPort("127.0.0.1", 50051));
    assertThat(HostPort.parse("svc.local:443")).isEqualTo(new HostPort("svc.local", 443));
    assertThat(HostPort.parse("[::1]:50051")).isEqualTo(new HostPort("::1", 50051));
    assertThat(HostPort.parse("[fd00::7:1]:1")).isEqualTo(new HostPort("fd00::7:1", 1));
    assertThat(HostPort.parse("[::ffff:10.0.0.1]:80")).isEqualTo(new HostPort("::ffff:10.0.0.1", 80));
  }

  @ParameterizedTest
  @ValueSource(strings = {"[::1]:50051", "10.1.2.3:65535", "greeter-0.greeter.demo.svc.cluster.local:8443"})
  void printsWhatItRead(String text) {
    assertThat(HostPort.parse(text)).hasToString(text);
  }

  @ParameterizedTest
  @ValueSource(strings = {"localhost", "::1:50051", "[::1]", "host:", ":80", "-bad.host:80", "host:80:90",
      "ho st:80", "[not-ipv6]:80", "[1:2:3]:80", "[::1::2]:80", "[.1]:80", "[::ffff:1.2.3.4.5]:80", "[1]:80"})
  void refusesMalformedAddresses(String text) {
    assertThatIllegalArgumentException().isThrownBy(() -> HostPort.parse(text))
        .withMessage("malformed address '" + text
            + "' (expected host:port such as 127.0.0.1:50051, [::1]:50051 or svc.local:443)");
  }

  @ParameterizedTest
  @ValueSource(strings = {"0", "65536", "123456"})
  void refusesPortsOutOfRange(String port) {
    assertThatIllegalArgumentException().isThrownBy(() -> HostPort.parse("host:" + port))
        .withMessage("port " + port + " of 'host:" + port + "' is out of range (expected 1..65535)");
  }
}
