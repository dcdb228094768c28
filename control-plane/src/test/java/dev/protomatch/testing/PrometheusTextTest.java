package dev.protomatch.testing;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.Map;
import org.junit.jupiter.api.Test;

/** The test parser reads what the text format allows and refuses what it does not. */
class PrometheusTextTest {

  @Test
  void readsFamiliesWithHelpTypeLabelsAndSpecialValues() {
    PrometheusText.Scrape scrape = PrometheusText.parse("""
        # HELP requests_total Requests with a back\\\\slash\\nand a new line
        # TYPE requests_total counter
        requests_total{path="/a\\"b\\\\c\\nd",code="200"} 3.0
        requests_total{path="/",code="500",} 1e3 1712000000000
        # a comment
        # TYPE temperature gauge
        temperature NaN
        # TYPE untyped_one untyped
        untyped_one -Inf
        untyped_two +Inf
        """);

    PrometheusText.Family requests = scrape.family("requests_total").orElseThrow();
    assertThat(requests.type()).isEqualTo("counter");
    assertThat(requests.help()).contains("Requests with a back\\slash\nand a new line");
    assertThat(scrape.value("requests_total", Map.of("path", "/a\"b\\c\nd", "code", "200"))).hasValue(3);
    assertThat(scrape.value("requests_total", Map.of("path", "/", "code", "500"))).hasValue(1000);
    assertThat(scrape.sum("requests_total", Map.of())).isEqualTo(1003);
    assertThat(scrape.value("temperature", Map.of()).getAsDouble()).isNaN();
    assertThat(scrape.value("untyped_one", Map.of())).hasValue(Double.NEGATIVE_INFINITY);
    assertThat(scrape.family("untyped_two").orElseThrow().type()).isEqualTo("untyped");
  }

  @Test
  void groupsHistogramSeriesUnderTheirFamily() {
    PrometheusText.Scrape scrape = PrometheusText.parse("""
        # TYPE latency_seconds histogram
        latency_seconds_bucket{type="EDS",le="0.1"} 1
        latency_seconds_bucket{type="EDS",le="+Inf"} 2
        latency_seconds_count{type="EDS"} 2
        latency_seconds_sum{type="EDS"} 0.7
        """);

    assertThat(scrape.families()).containsOnlyKeys("latency_seconds");
    assertThat(scrape.value("latency_seconds_count", Map.of("type", "EDS"))).hasValue(2);
  }

  @Test
  void refusesAHistogramWhoseInfBucketDiffersFromItsCount() {
    assertThatThrownBy(() -> PrometheusText.parse("""
        # TYPE latency_seconds histogram
        latency_seconds_bucket{le="+Inf"} 2
        latency_seconds_count 3
        latency_seconds_sum 0.7
        """)).hasMessageContaining("+Inf bucket");
  }

  @Test
  void refusesMalformedLines() {
    assertThatThrownBy(() -> PrometheusText.parse("metric{a=\"b} 1\n")).hasMessageContaining("line 1");
    assertThatThrownBy(() -> PrometheusText.parse("metric{a=b} 1\n")).hasMessageContaining("not quoted");
    assertThatThrownBy(() -> PrometheusText.parse("metric{a=\"\\t\"} 1\n")).hasMessageContaining("invalid escape");
    assertThatThrownBy(() -> PrometheusText.parse("metric{a=\"1\",a=\"2\"} 1\n")).hasMessageContaining("repeated");
    assertThatThrownBy(() -> PrometheusText.parse("9metric 1\n")).hasMessageContaining("invalid metric name");
    assertThatThrownBy(() -> PrometheusText.parse("metric one\n")).hasMessageContaining("invalid value");
    assertThatThrownBy(() -> PrometheusText.parse("metric 1 1.5\n")).hasMessageContaining("timestamp");
    assertThatThrownBy(() -> PrometheusText.parse("metric 1")).hasMessageContaining("line feed");
  }

  @Test
  void refusesFamiliesSplitOrDeclaredTwice() {
    assertThatThrownBy(() -> PrometheusText.parse("a 1\nb 1\na{x=\"y\"} 2\n")).hasMessageContaining("one group");
    assertThatThrownBy(() -> PrometheusText.parse("a 1\na 2\n")).hasMessageContaining("twice");
    assertThatThrownBy(() -> PrometheusText.parse("# TYPE a gauge\n# TYPE a gauge\n"))
        .hasMessageContaining("second TYPE");
    assertThatThrownBy(() -> PrometheusText.parse("a 1\n# TYPE a gauge\n")).hasMessageContaining("after its samples");
    assertThatThrownBy(() -> PrometheusText.parse("# TYPE a meter\n")).hasMessageContaining("unknown type");
  }
}
