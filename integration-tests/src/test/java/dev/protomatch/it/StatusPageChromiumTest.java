package dev.protomatch.it;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.fail;
import static org.awaitility.Awaitility.await;

import dev.protomatch.demo.AlternatingCaller;
import dev.protomatch.demo.ProtomatchProcess;
import dev.protomatch.testing.XdsClients;
import io.grpc.ManagedChannel;
import io.grpc.Status;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Comparator;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.jsoup.Jsoup;
import org.jsoup.nodes.Document;
import org.jsoup.nodes.Element;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The admin status page as a browser sees it: a real fleet (an old v1 Greeter beside a v2 one, both real
 * registered processes, and a grpc-java xDS client), the page loaded by headless Chromium, and assertions on
 * the DOM Chromium dumps after parsing and loading it.
 *
 * <p>Needs {@code /usr/bin/chromium}; {@code .ci/run} installs it with {@code integration-tests/install-test-tools.sh}.
 */
class StatusPageChromiumTest {
  private static final Path CHROMIUM = Path.of("/usr/bin/chromium");
  private static final Duration CHROMIUM_TIMEOUT = Duration.ofSeconds(90);

  private static Fleet fleet;
  private static ProtomatchProcess v1;
  private static ProtomatchProcess v2;
  private static ManagedChannel channel;

  @BeforeAll
  static void startFleet() throws Exception {
    if (!Files.isExecutable(CHROMIUM)) {
      fail(CHROMIUM + " is missing: StatusPageChromiumTest loads the admin status page in headless Chromium."
          + " .ci/run installs it (integration-tests/install-test-tools.sh); to run this test locally, run"
          + " integration-tests/install-test-tools.sh first (apt-get install chromium, needs root or sudo).");
    }
    fleet = Fleet.start();
    v1 = fleet.startGreeter("v1", "old-v1");
    v2 = fleet.startGreeter("v2", "new-v2");
    fleet.awaitGreeterDecision(d -> d.included().size() == 1 && d.excluded().size() == 1, Duration.ofSeconds(30));
    channel = XdsClients.channel(fleet.xdsPort(), "demo-greeter", "it-statuspage");
    await().atMost(Duration.ofSeconds(30)).until(() -> AlternatingCaller.run(channel, 2, 2_000).count(Status.Code.OK) == 2);
    await().atMost(Duration.ofSeconds(10)).until(() -> !fleet.controlPlane().clients().clients().isEmpty());
  }

  @AfterAll
  static void stopFleet() {
    if (channel != null) {
      channel.shutdownNow();
    }
    if (fleet != null) {
      fleet.close();
    }
  }

  @Test
  void greeterTableShowsTheNewBuildIncludedAndTheOldOneExcludedForMissingSayHelloAgain() throws Exception {
    Document dom = Jsoup.parse(dumpDom("http://127.0.0.1:" + fleet.controlPlane().adminPort() + "/"));

    Element table = dom.selectFirst("table.service[data-service=\"demo.Greeter\"]");
    assertThat(table).as("the demo.Greeter table in:\n%s", dom.outerHtml()).isNotNull();
    assertThat(table.attr("data-cluster")).isEqualTo("demo-greeter");
    assertThat(table.attr("data-outcome")).isEqualTo("qualified");
    assertThat(table.select("caption .expected").text()).isEqualTo("expects methods [SayHello, SayHelloAgain]");
    assertThat(table.select("tr.endpoint")).hasSize(2);

    Element newBuild = row(table, v2);
    assertThat(newBuild.classNames()).contains("endpoint", "included").doesNotContain("excluded");
    assertThat(newBuild.selectFirst("td.status").text()).isEqualTo("included");
    assertThat(newBuild.selectFirst("td.build .methods").text()).isEqualTo("SayHello, SayHelloAgain");
    assertThat(newBuild.selectFirst("td.build code.api").text()).startsWith("sha256:");
    assertThat(newBuild.select("td.labels .label").eachText()).contains("instance=new-v2");

    Element oldBuild = row(table, v1);
    assertThat(oldBuild.classNames()).contains("endpoint", "excluded", "reason-mismatch").doesNotContain("included");
    assertThat(oldBuild.attr("data-reason-code")).isEqualTo("missing_methods");
    assertThat(oldBuild.selectFirst("td.status").text()).isEqualTo("excluded");
    assertThat(oldBuild.selectFirst("td.reason .reason-text").text()).isEqualTo("missing methods [SayHelloAgain]");
    // methods: [SayHello, SayHelloAgain] admits only builds serving both: v1 takes no call at all.
    assertThat(oldBuild.selectFirst("td.reason").text()).isEqualTo("missing methods [SayHelloAgain]");
    assertThat(oldBuild.selectFirst("td.build .methods").text()).isEqualTo("SayHello");
    assertThat(oldBuild.select("td.labels .label").eachText()).contains("instance=old-v1");
  }

  @Test
  void headerNamesThePolicyAndCountsConnectedClientsAndThePageRefreshesItselfWithoutScript() throws Exception {
    Document dom = Jsoup.parse(dumpDom("http://127.0.0.1:" + fleet.controlPlane().adminPort() + "/"));

    assertThat(dom.title()).isEqualTo("protomatch status");
    assertThat(dom.selectFirst("meta[http-equiv=refresh]").attr("content")).isEqualTo("5");
    assertThat(dom.selectFirst("#policy-source").text()).endsWith("policies.yaml");
    assertThat(dom.selectFirst("#policy-version").attr("data-version")).isEqualTo("1");
    assertThat(Integer.parseInt(dom.selectFirst("#xds-clients").attr("data-count"))).isPositive();
    assertThat(dom.select("script")).isEmpty();
  }

  private static Element row(Element table, ProtomatchProcess greeter) {
    Element row = table.selectFirst("tr.endpoint[data-address=\"127.0.0.1:" + greeter.port() + "\"]");
    assertThat(row).as("row for 127.0.0.1:%d in:\n%s", greeter.port(), table.outerHtml()).isNotNull();
    return row;
  }

  /** The DOM headless Chromium holds once {@code url} has loaded, serialized as HTML. */
  private static String dumpDom(String url) throws IOException, InterruptedException {
    Path profile = Files.createTempDirectory("protomatch-chromium-");
    Path out = Files.createTempFile("protomatch-chromium-", ".html");
    Path err = Files.createTempFile("protomatch-chromium-", ".log");
    try {
      Process chromium = new ProcessBuilder(List.of(CHROMIUM.toString(), "--headless", "--no-sandbox", "--disable-gpu",
          "--disable-quic", "--no-first-run", "--disable-background-networking", "--disable-component-update",
          "--disable-sync", "--user-data-dir=" + profile, "--dump-dom", url))
          .redirectOutput(out.toFile())
          .redirectError(err.toFile())
          .start();
      if (!chromium.waitFor(CHROMIUM_TIMEOUT.toMillis(), TimeUnit.MILLISECONDS)) {
        chromium.descendants().forEach(ProcessHandle::destroyForcibly);
        chromium.destroyForcibly().waitFor(10, TimeUnit.SECONDS);
        fail("chromium did not dump " + url + " within " + CHROMIUM_TIMEOUT + "; its stderr:\n" + tail(err));
      }
      String dom = Files.readString(out, StandardCharsets.UTF_8);
      if (chromium.exitValue() != 0 || dom.isBlank()) {
        fail("chromium exited with " + chromium.exitValue() + " and " + dom.length() + " characters of DOM for " + url
            + "; its stderr:\n" + tail(err));
      }
      return dom;
    } finally {
      deleteRecursively(profile);
      Files.deleteIfExists(out);
      Files.deleteIfExists(err);
    }
  }

  private static String tail(Path log) throws IOException {
    List<String> lines = Files.readAllLines(log, StandardCharsets.UTF_8);
    return String.join("\n", lines.subList(Math.max(0, lines.size() - 40), lines.size()));
  }

  private static void deleteRecursively(Path directory) throws IOException {
    try (Stream<Path> paths = Files.walk(directory)) {
      paths.sorted(Comparator.reverseOrder()).forEach(path -> path.toFile().delete());
    }
  }
}
