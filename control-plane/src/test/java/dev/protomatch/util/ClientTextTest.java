package dev.protomatch.util;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

class ClientTextTest {
  @Test
  void controlCharactersAreEscaped() {
    assertThat(ClientText.escape("bad\nline\u001b[31m\tred")).isEqualTo("bad\\u000aline\\u001b[31m\\u0009red");
  }

  @Test
  void textWithinTheLimitIsKept() {
    assertThat(ClientText.clip("cluster 'svc' has no endpoints", 30)).isEqualTo("cluster 'svc' has no endpoints");
  }

  @Test
  void longTextIsCutSayingHowMuchWasLeftOut() {
    assertThat(ClientText.clip("abcdefghij", 4)).isEqualTo("abcd … (6 more characters)");
  }

  @Test
  void anEscapeOrASurrogatePairIsNeverCutInHalf() {
    assertThat(ClientText.clip("ab\ncd", 5)).isEqualTo("ab … (3 more characters)");
    assertThat(ClientText.clip("a\uD83D\uDE00b", 2)).isEqualTo("a … (3 more characters)");
    assertThat(ClientText.clip("a\uD83D\uDE00b", 3)).isEqualTo("a\uD83D\uDE00 … (1 more characters)");
  }
}
