package dev.protomatch.xds;

import static org.assertj.core.api.Assertions.assertThat;

import dev.protomatch.decision.RoutingDecider;
import dev.protomatch.decision.RoutingDecision;
import dev.protomatch.descriptor.DescriptorHash;
import dev.protomatch.descriptor.HashLevel;
import dev.protomatch.descriptor.MethodSignature;
import dev.protomatch.descriptor.ServiceFingerprint;
import dev.protomatch.policy.Expectation;
import dev.protomatch.policy.PolicyDocument;
import dev.protomatch.policy.ServicePolicy;
import dev.protomatch.policy.Settings;
import dev.protomatch.probe.ReflectionProtocol;
import dev.protomatch.registry.Advertisement;
import dev.protomatch.registry.EndpointAddress;
import dev.protomatch.registry.EndpointRegistration;
import dev.protomatch.registry.InMemoryEndpointRegistry;
import dev.protomatch.registry.Locality;
import dev.protomatch.registry.ProbeState;
import dev.protomatch.testing.EnvoyLikeAdsClient;
import dev.protomatch.testing.EnvoyLikeAdsClient.ApplyOrder;
import dev.protomatch.testing.EnvoyLikeAdsClient.Kind;
import dev.protomatch.testing.RawAdsStream;
import dev.protomatch.testing.TestClock;
import io.envoyproxy.controlplane.cache.v3.SimpleCache;
import io.envoyproxy.envoy.config.route.v3.RouteConfiguration;
import io.grpc.InsecureServerCredentials;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.SortedMap;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;

/**
 * Make-before-break against the worst client: a raw Envoy-like ADS client ({@link EnvoyLikeAdsClient}) on a
 * real {@link XdsServer}, fed by a real {@link SnapshotPublisher} wired as {@code ControlPlane} wires it (the
 * tracker as its {@link ClientAcks}; {@link SnapshotPublisher#publishStaged} on every ACK and every 250 ms, on
 * one publishing thread), applies whatever it receives in the order that breaks the most routes
 * ({@link ApplyOrder#WORST}: routes before the clusters they lead to, clusters removed before the routes
 * leaving them).
 *
 * <p>Each policy form drives one service through a rollout and back: new methods arrive with new builds,
 * whole builds leave. After every application the client checks every exact-path route it would take calls
 * on: to a cluster it has, warm, holding only endpoints whose build serves the method (ground truth: which
 * address runs which build).
 *
 * <p>The publisher's clock never moves, so staged routes follow only on ACKs and retired clusters leave only
 * once ACKed routes no longer lead to them (never by a timeout): whether make-before-break holds does not
 * depend on timing. The client's short linger only lets responses published together overtake one another, so
 * how many breaks the unprotected publisher shows may vary a little from run to run.
 */
class WorstOrderAdsClientTest {
  private static final String SERVICE = "demo.Greeter";
  private static final String CLUSTER = "demo-greeter";
  private static final ServiceFingerprint V1 = fingerprint("SayHello");
  private static final ServiceFingerprint V2 = fingerprint("SayHello", "SayHelloAgain");
  private static final ServiceFingerprint V3 = fingerprint("SayHello", "SayHelloAgain", "SayGoodbye");
  private static final Map<ServiceFingerprint, EndpointAddress> ADDRESSES = Map.of(
      V1, new EndpointAddress("127.0.1.1", 50051),
      V2, new EndpointAddress("127.0.2.1", 50051),
      V3, new EndpointAddress("127.0.3.1", 50051));
  /** The ground truth: the method paths each endpoint really serves. */
  private static final Map<String, Set<String>> PATHS_SERVED_AT = ADDRESSES.entrySet().stream().collect(
      Collectors.toMap(e -> e.getValue().host() + ":" + e.getValue().port(),
          e -> e.getKey().methods().keySet().stream().map(m -> "/" + SERVICE + "/" + m).collect(Collectors.toSet())));

  /** The live builds, state after state: a new method arrives with v2 and v3; whole builds leave. */
  private static final List<List<ServiceFingerprint>> ROLLOUT = List.of(
      List.of(V1), List.of(V1, V2), List.of(V2), List.of(V2, V3), List.of(V2), List.of(V1, V2), List.of(V1),
      List.of(V1, V2, V3), List.of(V1, V3), List.of(V3), List.of(V1));

  private static final Map<String, Expectation> POLICIES = new LinkedHashMap<>();

  static {
    POLICIES.put("newest", new Expectation.Newest());
    POLICIES.put("methods [SayHello]", new Expectation.RequiredMethods(new TreeSet<>(List.of("SayHello"))));
    POLICIES.put("methods [SayHelloAgain]", new Expectation.RequiredMethods(new TreeSet<>(List.of("SayHelloAgain"))));
    POLICIES.put("pin api of v2", new Expectation.PinnedHash(HashLevel.API, V2.api()));
  }

  private static final Duration LINGER = Duration.ofMillis(40);
  private static final Duration CONVERGENCE = Duration.ofSeconds(10);

  /**
   * Staging must wait until every client ACKed an assignment for each new cluster: a SotW client ACKs the new
   * EDS version on a response for the names it held before it even subscribed to the new cluster, so waiting
   * for the EDS type version lets the routes overtake the assignment (counted as ROUTE_TO_WARMING_CLUSTER).
   */
  @Test
  void underTheWorstApplyOrderNoRouteLeadsToAMissingOrWarmingClusterOrABuildWithoutTheMethod() throws Exception {
    Map<String, Result> results = driveEveryPolicy(true);

    assertThat(results).allSatisfy((policy, result) ->
        assertThat(result.total()).as("%s: %s", policy, result).isZero());
  }

  /** The same harness against a publisher without make-before-break: it must count the breaks. */
  @Test
  void withoutMakeBeforeBreakTheSameClientCountsBrokenRoutes() throws Exception {
    Map<String, Result> results = driveEveryPolicy(false);

    assertThat(results.values().stream().mapToInt(Result::total).sum()).as(results.toString()).isPositive();
  }

  private record Result(Map<Kind, Integer> counts, int applications, int applicationsWithViolations,
                        Set<String> examples) {
    int total() {
      return counts.values().stream().mapToInt(Integer::intValue).sum();
    }

    @Override
    public String toString() {
      return counts + " in " + applicationsWithViolations + " of " + applications + " applications"
          + (examples.isEmpty() ? "" : ", e.g. " + examples);
    }
  }

  private static Map<String, Result> driveEveryPolicy(boolean makeBeforeBreak) throws Exception {
    Map<String, Result> results = new LinkedHashMap<>();
    for (Map.Entry<String, Expectation> policy : POLICIES.entrySet()) {
      Result result = drive(policy.getValue(), makeBeforeBreak);
      System.out.printf("worst-order client, %s publisher, policy %s: %s%n",
          makeBeforeBreak ? "make-before-break" : "unprotected", policy.getKey(), result);
      results.put(policy.getKey(), result);
    }
    return results;
  }

  private static Result drive(Expectation expectation, boolean makeBeforeBreak) throws Exception {
    TestClock clock = TestClock.atEpochPlusOneDay(); // never advanced: staging and retention end on ACKs only
    SimpleCache<String> cache = new SimpleCache<>(node -> NodeKind.of(node).group());
    XdsClientTracker tracker = new XdsClientTracker(clock);
    SnapshotBuilder builder = new SnapshotBuilder("127.0.0.1", 15001);
    SnapshotPublisher publisher = makeBeforeBreak
        ? new SnapshotPublisher(cache, builder, new EnvoyRulesPreflight(), clock, tracker,
            SnapshotPublisher.MAX_RETIRED_CLUSTER_HOLD, SnapshotPublisher.MAX_STAGING)
        : new SnapshotPublisher(cache, builder, new EnvoyRulesPreflight(), clock);
    publisher.addListener(tracker::published);
    // As ControlPlane wires it: staged routes are checked on one scheduler thread, on every ACK and every 250 ms.
    ScheduledExecutorService publishing = Executors.newSingleThreadScheduledExecutor();
    tracker.addHoldingListener(() -> publishing.execute(publisher::publishStaged));
    publishing.scheduleWithFixedDelay(publisher::publishStaged, 250, 250, TimeUnit.MILLISECONDS);
    try (XdsServer server = XdsServer.start(new InetSocketAddress("127.0.0.1", 0), InsecureServerCredentials.create(),
             cache, tracker);
         EnvoyLikeAdsClient client = new EnvoyLikeAdsClient(server.port(), RawAdsStream.node("worst-order", "envoy"),
             PATHS_SERVED_AT, LINGER)) {
      client.start();
      for (List<ServiceFingerprint> fleet : ROLLOUT) {
        RoutingDecision decision = decide(expectation, fleet);
        publishing.submit(() -> publisher.publish(decision)).get();
        converge(client, cache, builder.build(decision, NodeKind.ENVOY).routes(), fleet);
      }
      return new Result(client.counts(), client.steps(), client.stepsWithViolations(), client.examples());
    } finally {
      publishing.shutdownNow();
    }
  }

  /** Lets the client apply, worst first, until it holds the decision's routes and everything published. */
  private static void converge(EnvoyLikeAdsClient client, SimpleCache<String> cache, List<RouteConfiguration> routes,
                               List<ServiceFingerprint> fleet) throws InterruptedException {
    long deadline = System.nanoTime() + CONVERGENCE.toNanos();
    while (!converged(client, cache, routes)) {
      if (System.nanoTime() > deadline) {
        throw new AssertionError("the client did not converge on the routes for " + fleet.stream()
            .map(WorstOrderAdsClientTest::name).toList() + " within " + CONVERGENCE + ": " + client
            + "; published " + ((ContentSnapshot) cache.getSnapshot(NodeKind.ENVOY.group())).versions());
      }
      client.step(ApplyOrder.WORST);
    }
  }

  private static boolean converged(EnvoyLikeAdsClient client, SimpleCache<String> cache,
                                   List<RouteConfiguration> routes) {
    ContentSnapshot published = (ContentSnapshot) cache.getSnapshot(NodeKind.ENVOY.group());
    return published != null && client.idle() && client.warming().isEmpty()
        && client.appliedVersions().equals(published.versions())
        && new ArrayList<>(client.liveRoutes().values()).equals(routes);
  }

  private static String name(ServiceFingerprint build) {
    return build.equals(V1) ? "v1" : build.equals(V2) ? "v2" : "v3";
  }

  /** The decision the real decider makes with these builds registered and probed. */
  private static RoutingDecision decide(Expectation expectation, List<ServiceFingerprint> fleet) {
    TestClock clock = TestClock.atEpochPlusOneDay();
    InMemoryEndpointRegistry registry = new InMemoryEndpointRegistry(clock);
    for (ServiceFingerprint build : fleet) {
      EndpointAddress address = ADDRESSES.get(build);
      registry.register(new EndpointRegistration(address, Locality.UNKNOWN, Map.of(), 1,
          List.of(Advertisement.of(build)), "agent"), Duration.ofHours(1));
      long generation = registry.state().endpoints().get(address).generation();
      registry.recordProbe(address, generation, new ProbeState.Probed(clock.instant(), ReflectionProtocol.V1,
          new TreeMap<>(Map.of(SERVICE, build))));
    }
    ServicePolicy policy = new ServicePolicy(SERVICE, CLUSTER, expectation, ServicePolicy.WhenNoneQualify.FAIL_CLOSED,
        ServicePolicy.WithoutReflection.TRUST_ADVERTISED, List.of());
    return RoutingDecider.decide(new PolicyDocument(Settings.defaults(), List.of(policy)), registry.state(),
        clock.instant());
  }

  private static ServiceFingerprint fingerprint(String... methods) {
    SortedMap<String, MethodSignature> signatures = new TreeMap<>();
    for (String method : methods) {
      signatures.put(method, new MethodSignature(method, "demo.Request", "demo.Reply", false, false));
    }
    String api = signatures.values().toString();
    return new ServiceFingerprint(SERVICE, hash(api), hash(api + "#schema"), signatures);
  }

  private static DescriptorHash hash(String text) {
    try {
      return new DescriptorHash("sha256:" + HexFormat.of().formatHex(
          MessageDigest.getInstance("SHA-256").digest(text.getBytes(StandardCharsets.UTF_8))));
    } catch (java.security.NoSuchAlgorithmException e) {
      throw new IllegalStateException(e);
    }
  }
}
