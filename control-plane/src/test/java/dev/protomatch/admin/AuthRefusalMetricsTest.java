package dev.protomatch.admin;

import static org.assertj.core.api.Assertions.assertThat;

import dev.protomatch.registration.BearerTokenInterceptor;
import dev.protomatch.registration.BearerTokenInterceptor.RefusalReason;
import dev.protomatch.testing.PrometheusText;
import io.prometheus.metrics.expositionformats.PrometheusTextFormatWriter;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** {@code protomatch_registration_auth_refusals_total}: one series per reason, there from the start. */
class AuthRefusalMetricsTest {
  private final ProtomatchMetrics metrics = new ProtomatchMetrics(List::of);

  @Test
  void countsRefusalsByReasonWithEveryReasonAtZeroFirst() throws IOException {
    PrometheusText.Scrape before = scrape();
    assertThat(before.family("protomatch_registration_auth_refusals_total").orElseThrow().type()).isEqualTo("counter");
    for (RefusalReason reason : RefusalReason.values()) {
      assertThat(before.value("protomatch_registration_auth_refusals_total", Map.of("reason", reason.label())))
          .hasValue(0);
    }

    metrics.registrationAuthRefused(new BearerTokenInterceptor.Refusal("127.0.0.1", "m", RefusalReason.INVALID_TOKEN));
    metrics.registrationAuthRefused(new BearerTokenInterceptor.Refusal("127.0.0.2", "m", RefusalReason.INVALID_TOKEN));
    metrics.registrationAuthRefused(new BearerTokenInterceptor.Refusal("127.0.0.1", "m", RefusalReason.MISSING_TOKEN));

    PrometheusText.Scrape after = scrape();
    assertThat(after.value("protomatch_registration_auth_refusals_total", Map.of("reason", "invalid"))).hasValue(2);
    assertThat(after.value("protomatch_registration_auth_refusals_total", Map.of("reason", "missing"))).hasValue(1);
    assertThat(after.value("protomatch_registration_auth_refusals_total", Map.of("reason", "unreadable"))).hasValue(0);
  }

  private PrometheusText.Scrape scrape() throws IOException {
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    PrometheusTextFormatWriter.create().write(out, metrics.registry().scrape());
    return PrometheusText.parse(out.toString(StandardCharsets.UTF_8));
  }
}
