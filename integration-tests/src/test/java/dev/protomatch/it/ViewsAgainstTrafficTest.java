package dev.protomatch.it;

import static org.assertj.core.api.Assertions.assertThat;

import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.read.ListAppender;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.protomatch.cli.Main;
import dev.protomatch.demo.ProtomatchProcess;
import dev.protomatch.testing.PrometheusText;
import dev.protomatch.testing.XdsClients;
import dev.protomatch.xds.XdsClientStatus;
import io.grpc.ManagedChannel;
import io.grpc.Status;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.SortedSet;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Collectors;
import java.util.stream.Stream;
import org.jsoup.Jsoup;
import org.jsoup.nodes.Document;
import org.jsoup.nodes.Element;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;
import org.slf4j.LoggerFactory;

/**
 * Every view of routing checked against real traffic: one v1 demo.Greeter (SayHello) and one v2 (SayHello,
 * SayHelloAgain), real registered processes, under policies of several forms; a grpc-java {@code xds:///} client
 * calls each method and records which endpoint answered it, which endpoints its calls reached (the peer of each
 * call, whatever it answered) and the status codes. Then /v1/services, /metrics, {@code protomatch status}, the
 * status page and the decision log (logger {@code dev.protomatch.decisions}) must each say, per method, exactly the
 * endpoints its calls reached and exactly the methods whose calls failed closed (UNAVAILABLE), and none may show an
 * endpoint that calls reached as excluded. Under fail-open an endpoint takes every call although it did not
 * qualify: the views must show it as taking calls, with why it did not qualify.
 */
class ViewsAgainstTrafficTest {
  private static final Duration PATIENCE = Duration.ofSeconds(60);
  /** Routing must look the same for this long (longer than the publisher's 2 s staging) before it is judged. */
  private static final Duration STEADY = Duration.ofSeconds(3);
  private static final int CALLS_PER_METHOD = 12;
  private static final String SERVICE = "demo.Greeter";
  private static final String NODE = "it-views";
  private static final Pattern LOG_ENDPOINT = Pattern.compile(
      "^demo\\.Greeter: (included|excluded|gone) (127\\.0\\.0\\.1:\\d+)(.*)$");
  private static final Pattern LOG_ONLY = Pattern.compile("^ for (.+) only \\(");

  private static final HttpClient HTTP = HttpClient.newHttpClient();
  private static final ObjectMapper JSON = new ObjectMapper();
  private static final ListAppender<ILoggingEvent> decisionLog = new ListAppender<>();
  private static Fleet fleet;
  private static ManagedChannel channel;
  /** Build name (v1, v2) to its endpoint's address, and instance name to address. */
  private static final Map<String, String> buildAddresses = new TreeMap<>();
  private static final Map<String, String> instanceAddresses = new HashMap<>();

  /**
   * A policy and what DemoGreeters' builds make of it: per method, the builds that answer it (none: its calls fail
   * closed) and the builds its calls reach (the same, except under fail-open, where a build without the method
   * answers UNIMPLEMENTED). The test checks the traffic against this first, so each scenario is known to exercise
   * what it names.
   */
  record Scenario(String name, String expect, Map<String, Set<String>> answeredBy, Map<String, Set<String>> reachedBy,
                  boolean failOpen) {
    Scenario(String name, String expect, Map<String, Set<String>> answeredBy) {
      this(name, expect, answeredBy, answeredBy, false);
    }

    @Override
    public String toString() {
      return name;
    }
  }

  static Stream<Scenario> scenarios() {
    return Stream.of(
        new Scenario("required method misspelt: its calls fail closed, each build keeps what it serves",
            "expect:\n      methods: [SayHello, SayHelloAgian]",
            Map.of("SayHello", Set.of("v1", "v2"), "SayHelloAgain", Set.of("v2"), "SayHelloAgian", Set.of())),
        new Scenario("a method only the new build serves: the old build takes nothing",
            "expect:\n      methods: [SayHelloAgain]",
            Map.of("SayHello", Set.of("v2"), "SayHelloAgain", Set.of("v2"))),
        new Scenario("newest: every method served, the old build takes SayHello only",
            "expect: newest",
            Map.of("SayHello", Set.of("v1", "v2"), "SayHelloAgain", Set.of("v2"))),
        new Scenario("pinned to a build nobody runs: every call fails closed",
            "expect:\n      api: sha256:" + "0".repeat(64),
            Map.of("SayHello", Set.of(), "SayHelloAgain", Set.of())),
        new Scenario("pinned to a build nobody runs, fail-open: both builds take every call, unchecked",
            "expect:\n      api: sha256:" + "0".repeat(64) + "\n    when-none-qualify: fail-open",
            Map.of("SayHello", Set.of("v1", "v2"), "SayHelloAgain", Set.of("v2")),
            Map.of("SayHello", Set.of("v1", "v2"), "SayHelloAgain", Set.of("v1", "v2")), true));
  }

  @BeforeAll
  static void startFleet() throws Exception {
    Logger logger = (Logger) LoggerFactory.getLogger("dev.protomatch.decisions");
    decisionLog.setContext(logger.getLoggerContext());
    decisionLog.start();
    logger.addAppender(decisionLog);
    fleet = Fleet.start();
    for (String build : List.of("v1", "v2")) {
      ProtomatchProcess greeter = fleet.startGreeter(build, "views-" + build);
      buildAddresses.put(build, "127.0.0.1:" + greeter.port());
      instanceAddresses.put("views-" + build, "127.0.0.1:" + greeter.port());
    }
    fleet.awaitGreeterDecision(d -> d.included().size() + d.excluded().size() == 2
        && d.excluded().stream().allMatch(e -> e.reason().code().equals("missing_methods")), PATIENCE);
    channel = XdsClients.channel(fleet.xdsPort(), "demo-greeter", NODE);
  }

  @AfterAll
  static void stopFleet() {
    if (channel != null) {
      channel.shutdownNow();
    }
    if (fleet != null) {
      fleet.close();
    }
    ((Logger) LoggerFactory.getLogger("dev.protomatch.decisions")).detachAppender(decisionLog);
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("scenarios")
  void everyViewSaysWhatTheTrafficFound(Scenario scenario) throws Exception {
    fleet.applyPolicy(Fleet.policy(SERVICE, "demo-greeter", scenario.expect()), Duration.ofSeconds(10));
    fleet.controlPlane().updater().updateNow();
    RoutedTraffic traffic = steadyTraffic(scenario.answeredBy().keySet());
    Reports.append("views-against-traffic", scenario.name() + ": " + traffic.codes() + ", answered by "
        + traffic.answeredBy() + ", reached " + traffic.reachedBy());

    // The scenario does what it says (ground truth from DemoGreeters' builds), and nothing is UNIMPLEMENTED unless
    // the policy fails open.
    assertThat(traffic.answeredBy()).as("who answered each method").isEqualTo(addresses(scenario.answeredBy()));
    assertThat(traffic.reachedBy()).as("whom each method's calls reached").isEqualTo(addresses(scenario.reachedBy()));
    traffic.codes().forEach((method, codes) -> assertThat(codes.keySet()).as(method).isSubsetOf(scenario.failOpen()
        ? Set.of(Status.Code.OK, Status.Code.UNAVAILABLE, Status.Code.UNIMPLEMENTED)
        : Set.of(Status.Code.OK, Status.Code.UNAVAILABLE)));

    SortedSet<String> failing = traffic.failingClosed();
    boolean everyCallFails = failing.equals(traffic.answeredBy().keySet());
    SortedSet<String> reached = traffic.reachedEndpoints();

    List<String> problems = new ArrayList<>();
    checkServicesView(traffic, failing, everyCallFails, reached, scenario.failOpen(), problems);
    checkMetrics(failing, everyCallFails, reached, problems);
    checkStatusCommand(traffic, failing, everyCallFails, reached, problems);
    checkStatusPage(traffic, failing, everyCallFails, reached, scenario.failOpen(), problems);
    checkDecisionLog(traffic, failing, everyCallFails, reached, problems);
    Reports.append("views-against-traffic", scenario.name() + ": " + problems.size() + " view disagreements"
        + (problems.isEmpty() ? "" : ": " + problems));
    assertThat(problems).as("views that disagree with the traffic (%s)", traffic).isEmpty();
  }

  /**
   * /v1/services: per-method endpoints, methods_failing_closed, fails_closed, included/excluded, and under fail-open
   * each included endpoint's reason for not qualifying ({@code unqualified}).
   */
  private static void checkServicesView(RoutedTraffic traffic, SortedSet<String> failing, boolean everyCallFails,
                                        SortedSet<String> reached, boolean failOpen, List<String> problems)
      throws Exception {
    JsonNode service = service(JSON.readTree(get("/v1/services")));
    JsonNode methods = service.path("methods");
    traffic.reachedBy().forEach((method, addresses) -> {
      Set<String> shown = new TreeSet<>(texts(methods.path(method)));
      if (!shown.equals(addresses)) {
        problems.add("/v1/services methods." + method + " = " + shown + ", reached " + addresses);
      }
    });
    String failsClosed = service.path("fails_closed").asText();
    String expectedFailsClosed = everyCallFails ? "every_method" : failing.isEmpty() ? "none" : "some_methods";
    if (!failsClosed.equals(expectedFailsClosed)) {
      problems.add("/v1/services fails_closed = " + failsClosed + ", traffic says " + expectedFailsClosed);
    }
    Set<String> listed = new TreeSet<>(texts(service.path("methods_failing_closed")));
    if (everyCallFails ? !failing.containsAll(listed) : !listed.equals(failing)) {
      problems.add("/v1/services methods_failing_closed = " + listed + ", failing closed: " + failing);
    }
    Set<String> included = new TreeSet<>();
    service.path("included").forEach(e -> included.add(e.path("address").asText()));
    if (!included.equals(reached)) {
      problems.add("/v1/services included = " + included + ", reached: " + reached);
    }
    service.path("included").forEach(e -> {
      boolean unqualified = !e.path("unqualified").path("reason_code").asText().isEmpty()
          && !e.path("unqualified").path("reason").asText().isEmpty();
      if (unqualified != failOpen) {
        problems.add("/v1/services included " + e.path("address").asText() + (failOpen
            ? " does not say why it did not qualify although it takes calls only because the policy fails open: " + e
            : " says it did not qualify although the policy admitted it: " + e));
      }
    });
    service.path("excluded").forEach(e -> {
      if (reached.contains(e.path("address").asText())) {
        problems.add("/v1/services shows " + e.path("address").asText() + " as excluded (" + e.path("reason").asText()
            + ") although calls reached it for " + traffic.methodsReaching(e.path("address").asText()));
      }
    });
  }

  /** /metrics: protomatch_methods_failing_closed and protomatch_endpoints by state. */
  private static void checkMetrics(SortedSet<String> failing, boolean everyCallFails, SortedSet<String> reached,
                                   List<String> problems) throws Exception {
    PrometheusText.Scrape scrape = PrometheusText.parse(get("/metrics"));
    double failingGauge = scrape.value("protomatch_methods_failing_closed", Map.of("service", SERVICE)).orElse(-1);
    // Every call failing closed shows as no included endpoint; the gauge counts the routed methods without one.
    if (everyCallFails ? failingGauge > failing.size() : failingGauge != failing.size()) {
      problems.add("/metrics protomatch_methods_failing_closed = " + failingGauge + ", failing closed: " + failing);
    }
    double included = scrape.sum("protomatch_endpoints", Map.of("service", SERVICE, "state", "included"));
    if (included != reached.size()) {
      problems.add("/metrics protomatch_endpoints{state=included} = " + included + ", reached: " + reached);
    }
    double excluded = scrape.sum("protomatch_endpoints", Map.of("service", SERVICE, "state", "excluded"));
    if (excluded != buildAddresses.size() - reached.size()) {
      problems.add("/metrics protomatch_endpoints{state=excluded} = " + excluded + ", but "
          + (buildAddresses.size() - reached.size()) + " of " + buildAddresses.size()
          + " endpoints were reached by no call");
    }
  }

  /**
   * {@code protomatch status}, run in-process: names exactly the failing methods, never an endpoint calls reached as
   * excluded.
   */
  private static void checkStatusCommand(RoutedTraffic traffic, SortedSet<String> failing, boolean everyCallFails,
                                         SortedSet<String> reached, List<String> problems) {
    StringWriter out = new StringWriter();
    StringWriter err = new StringWriter();
    int exit = Main.commandLine().setOut(new PrintWriter(out)).setErr(new PrintWriter(err))
        .execute("status", "--admin", "127.0.0.1:" + fleet.controlPlane().adminPort());
    if (exit != 0) {
      problems.add("protomatch status exited " + exit + ": " + err);
      return;
    }
    List<String> lines = out.toString().lines().toList();
    List<String> failLines = lines.stream()
        .filter(l -> l.contains("fail closed") || l.contains("fails closed")).toList(); // the fleet has one service
    if (everyCallFails && failLines.stream().noneMatch(l -> l.contains("every call fails closed"))) {
      problems.add("protomatch status does not say every call fails closed: " + failLines);
    }
    if (!everyCallFails) {
      Set<String> named = named(traffic.reachedBy().keySet(), failLines);
      if (!named.equals(failing)) {
        problems.add("protomatch status names " + named + " as failing closed, failing closed: " + failing
            + " (" + failLines + ")");
      }
    }
    for (String address : reached) {
      for (String line : lines) {
        if (line.contains(address) && Pattern.compile("\\bexcluded\\b").matcher(line).find()) {
          problems.add("protomatch status shows " + address + " as excluded although calls reached it for "
              + traffic.methodsReaching(address) + ": " + line);
        }
      }
      if (lines.stream().noneMatch(l -> l.contains(address) && l.contains("included"))) {
        problems.add("protomatch status does not show " + address + " as included although calls reached it for "
            + traffic.methodsReaching(address));
      }
    }
  }

  /** The status page (GET /): its failing-closed caption, rows, and each included row's methods. */
  private static void checkStatusPage(RoutedTraffic traffic, SortedSet<String> failing, boolean everyCallFails,
                                      SortedSet<String> reached, boolean failOpen, List<String> problems)
      throws Exception {
    Document page = Jsoup.parse(get("/"));
    Element table = page.selectFirst("table.service[data-service=" + SERVICE + "]");
    if (table == null) {
      problems.add("status page has no table for " + SERVICE);
      return;
    }
    Element failingCaption = table.selectFirst(".failing-closed");
    Set<String> named = failingCaption == null ? Set.of()
        : new TreeSet<>(List.of(failingCaption.attr("data-methods").split(",")));
    if (everyCallFails) {
      if (!table.attr("data-outcome").equals("none_qualified_fail_closed")
          || !table.selectFirst("caption").text().contains("fail closed")) {
        problems.add("status page does not say every call of " + SERVICE + " fails closed: "
            + table.selectFirst("caption").text());
      }
    } else if (!named.equals(failing)) {
      problems.add("status page names " + named + " as failing closed, failing closed: " + failing);
    }
    Set<String> includedRows = new TreeSet<>();
    for (Element row : table.select("tr.endpoint.included")) {
      String address = row.attr("data-address");
      includedRows.add(address);
      if (row.hasClass("unqualified") != failOpen || row.attr("data-unqualified-reason-code").isEmpty() == failOpen) {
        problems.add("status page row " + address + (failOpen ? " does not show why it did not qualify"
            : " shows a reason it did not qualify") + ": " + row.outerHtml());
      }
      Element routed = row.selectFirst(".routed");
      Set<String> takes = routed == null ? traffic.reachedMethods()
          : new TreeSet<>(List.of(routed.attr("data-routed-methods").split(",")));
      if (!takes.equals(traffic.methodsReaching(address))) {
        problems.add("status page row " + address + " takes " + takes + ", calls reached it for "
            + traffic.methodsReaching(address));
      }
    }
    if (!includedRows.equals(reached)) {
      problems.add("status page included rows " + includedRows + ", reached: " + reached);
    }
    for (Element row : table.select("tr.endpoint.excluded")) {
      if (reached.contains(row.attr("data-address"))) {
        problems.add("status page shows " + row.attr("data-address") + " as excluded although calls reached it for "
            + traffic.methodsReaching(row.attr("data-address")));
      }
    }
  }

  /**
   * The decision log, replayed: the last line per endpoint says included (for the methods whose calls reach it) or
   * excluded (when no call reaches it), and the last fail-closed line names exactly the failing methods.
   */
  private static void checkDecisionLog(RoutedTraffic traffic, SortedSet<String> failing, boolean everyCallFails,
                                       SortedSet<String> reached, List<String> problems) {
    List<String> lines;
    synchronized (decisionLog) {
      lines = decisionLog.list.stream().map(ILoggingEvent::getFormattedMessage).toList();
    }
    Map<String, String> lastPerEndpoint = new TreeMap<>();
    String lastFailClosed = null;
    for (String line : lines) {
      Matcher endpoint = LOG_ENDPOINT.matcher(line);
      if (endpoint.matches()) {
        lastPerEndpoint.put(endpoint.group(2), line);
      } else if (line.startsWith(SERVICE + ": ") && (line.contains("fail closed") || line.contains("fails closed"))) {
        lastFailClosed = line;
      }
    }
    for (String address : buildAddresses.values()) {
      String line = lastPerEndpoint.get(address);
      Matcher endpoint = line == null ? null : LOG_ENDPOINT.matcher(line);
      if (endpoint == null || !endpoint.matches()) {
        problems.add("decision log never mentions " + address);
        continue;
      }
      boolean isReached = reached.contains(address);
      if (isReached != endpoint.group(1).equals("included")) {
        problems.add("decision log last says '" + line + "', but " + address + " was reached for "
            + traffic.methodsReaching(address));
      } else if (isReached) {
        Matcher only = LOG_ONLY.matcher(endpoint.group(3));
        Set<String> takes = only.find() ? new TreeSet<>(List.of(only.group(1).split(", "))) : traffic.reachedMethods();
        if (!takes.equals(traffic.methodsReaching(address))) {
          problems.add("decision log last says '" + line + "', but " + address + " was reached for "
              + traffic.methodsReaching(address));
        }
      }
    }
    if (everyCallFails) {
      if (lastFailClosed == null || !lastFailClosed.contains("every")) {
        problems.add("decision log does not say every call fails closed; its last such line: " + lastFailClosed);
      }
    } else {
      Set<String> named = lastFailClosed == null || lastFailClosed.contains("no call fails closed") ? Set.of()
          : named(traffic.reachedBy().keySet(), List.of(lastFailClosed));
      if (!named.equals(failing)) {
        problems.add("decision log names " + named + " as failing closed (last such line: " + lastFailClosed
            + "), failing closed: " + failing);
      }
    }
  }

  /**
   * Waits until the client ACKed everything it was sent and calls have found the same routing for {@link #STEADY},
   * then returns what they found.
   */
  private static RoutedTraffic steadyTraffic(Set<String> methods) throws InterruptedException {
    long deadline = System.nanoTime() + PATIENCE.toNanos();
    RoutedTraffic steady = null;
    long steadySince = 0;
    while (System.nanoTime() < deadline) {
      if (!clientAckedEverything()) {
        channel.getState(true); // leave idle: the xDS client subscribes on the channel's first use
        steady = null;
        Thread.sleep(100);
        continue;
      }
      RoutedTraffic round = RoutedTraffic.observe(channel, new TreeSet<>(methods), CALLS_PER_METHOD, instanceAddresses);
      if (steady == null || !round.sameRouting(steady)) {
        steady = round;
        steadySince = System.nanoTime();
      } else if (System.nanoTime() - steadySince >= STEADY.toNanos()) {
        return round;
      }
      Thread.sleep(200);
    }
    throw new AssertionError("routing did not hold steady for " + STEADY + " within " + PATIENCE + "; last: " + steady);
  }

  private static boolean clientAckedEverything() {
    List<XdsClientStatus> mine = fleet.controlPlane().clients().clients().stream()
        .filter(c -> c.nodeId().equals(NODE)).toList();
    return !mine.isEmpty() && mine.stream().allMatch(c -> !c.types().isEmpty() && c.types().values().stream()
        .allMatch(t -> !t.sentVersion().isEmpty() && t.sentVersion().equals(t.ackedVersion())));
  }

  /** Per method, the addresses of the named builds. */
  private static Map<String, Set<String>> addresses(Map<String, Set<String>> builds) {
    Map<String, Set<String>> out = new TreeMap<>();
    builds.forEach((method, names) ->
        out.put(method, names.stream().map(buildAddresses::get).collect(Collectors.toCollection(TreeSet::new))));
    return out;
  }

  /** Which of {@code methods} the lines name (as whole words). */
  private static Set<String> named(Set<String> methods, List<String> lines) {
    Set<String> out = new TreeSet<>();
    for (String method : methods) {
      Pattern word = Pattern.compile("\\b" + Pattern.quote(method) + "\\b");
      if (lines.stream().anyMatch(l -> word.matcher(l).find())) {
        out.add(method);
      }
    }
    return out;
  }

  private static JsonNode service(JsonNode services) {
    for (JsonNode service : services.path("services")) {
      if (service.path("service").asText().equals(SERVICE)) {
        return service;
      }
    }
    throw new AssertionError("/v1/services has no " + SERVICE + ": " + services);
  }

  private static List<String> texts(JsonNode array) {
    List<String> out = new ArrayList<>();
    array.forEach(node -> out.add(node.asText()));
    return out;
  }

  private static String get(String path) throws Exception {
    HttpResponse<String> response = HTTP.send(HttpRequest.newBuilder(
        URI.create("http://127.0.0.1:" + fleet.controlPlane().adminPort() + path)).GET().build(),
        HttpResponse.BodyHandlers.ofString());
    assertThat(response.statusCode()).as("GET " + path).isEqualTo(200);
    return response.body();
  }
}
