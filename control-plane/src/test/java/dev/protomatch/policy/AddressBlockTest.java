package dev.protomatch.policy;

import static org.assertj.core.api.Assertions.assertThat;

import java.net.InetAddress;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

class AddressBlockTest {
  @Test
  void aCidrBlockHoldsTheAddressesUnderItsPrefix() throws Exception {
    AddressBlock block = AddressBlock.parse("10.1.0.0/16").orElseThrow();

    assertThat(block.contains(InetAddress.getByName("10.1.255.7"))).isTrue();
    assertThat(block.contains(InetAddress.getByName("10.2.0.1"))).isFalse();
  }

  @Test
  void aPrefixThatIsNotAWholeNumberOfBytesIsMaskedBitByBit() throws Exception {
    AddressBlock block = AddressBlock.parse("192.168.4.0/22").orElseThrow();

    assertThat(block.contains(InetAddress.getByName("192.168.7.255"))).isTrue();
    assertThat(block.contains(InetAddress.getByName("192.168.8.0"))).isFalse();
  }

  @Test
  void anAddressWithoutPrefixHoldsOnlyItselfAndIpv4AndIpv6NeverMatch() throws Exception {
    AddressBlock v6 = AddressBlock.parse("fd00::1").orElseThrow();

    assertThat(v6.contains(InetAddress.getByName("fd00::1"))).isTrue();
    assertThat(v6.contains(InetAddress.getByName("fd00::2"))).isFalse();
    assertThat(AddressBlock.parse("0.0.0.0/0").orElseThrow().contains(InetAddress.getByName("::1"))).isFalse();
  }

  @ParameterizedTest
  @ValueSource(strings = {"", "localhost", "10.1.0.0/33", "10.1/16", "10.1.0.0/", "fd00::/129", "10.0.0.1/-1", "example.org"})
  void textThatIsNotAnIpLiteralWithAnOptionalPrefixIsRefused(String text) {
    assertThat(AddressBlock.parse(text)).isEmpty();
  }
}
