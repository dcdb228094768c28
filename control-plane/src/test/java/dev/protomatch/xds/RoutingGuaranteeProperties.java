package dev.protomatch.xds;

import static org.assertj.core.api.Assertions.assertThat;

import dev.protomatch.admin.DecisionChangeLog;
import dev.protomatch.decision.RoutingDecider;
import dev.protomatch.decision.RoutingDecision;
import dev.protomatch.decision.ServiceDecision;
import dev.protomatch.descriptor.DescriptorHash;
import dev.protomatch.descriptor.HashLevel;
import dev.protomatch.descriptor.MethodSignature;
import dev.protomatch.descriptor.ServiceFingerprint;
import dev.protomatch.policy.Expectation;
import dev.protomatch.policy.PolicyDocument;
import dev.protomatch.policy.ServicePolicy;
import dev.protomatch.policy.ServicePolicy.WhenNoneQualify;
import dev.protomatch.policy.ServicePolicy.WithoutReflection;
import dev.protomatch.policy.Settings;
import dev.protomatch.probe.ReflectionException;
import dev.protomatch.probe.ReflectionProtocol;
import dev.protomatch.registry.Advertisement;
import dev.protomatch.registry.EndpointAddress;
import dev.protomatch.registry.EndpointRegistration;
import dev.protomatch.registry.InMemoryEndpointRegistry;
import dev.protomatch.registry.Locality;
import dev.protomatch.registry.ProbeState;
import dev.protomatch.testing.TestClock;
import io.envoyproxy.envoy.config.cluster.v3.Cluster;
import io.envoyproxy.envoy.config.endpoint.v3.ClusterLoadAssignment;
import io.envoyproxy.envoy.config.route.v3.Route;
import io.envoyproxy.envoy.config.route.v3.RouteConfiguration;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashMap;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Random;
import java.util.Set;
import java.util.SortedMap;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.stream.Collectors;
import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.Combinators;
import net.jqwik.api.EdgeCasesMode;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;
import net.jqwik.api.statistics.Statistics;

/**
 * The routing guarantee as properties over random fleets: several builds of one service with overlapping,
 * diverging and incompatible method sets; endpoints that registered with descriptor sets, with hashes only,
 * or are static; probed, unprobed, without reflection, failing probes, lying about their build, with
 * live or lapsed leases; every policy form; random arrival orders and restarts.
 *
 * <p>Everything is checked on what clients receive (the xDS resources), against what each process really
 * serves, and for every mix of two consecutive states per resource type, since routes, clusters and
 * assignments reach clients independently:
 * <ol>
 *   <li>no route for a method leads to an endpoint whose build lacks it, or serves it with another
 *       signature than the route's other endpoints (a route may lead to nothing: UNAVAILABLE);
 *   <li>every method of a qualifying, probed, live build is reachable (no needless UNAVAILABLE);
 *   <li>the resources depend on the set of live builds only: not on arrival order, nor on a restart;
 *   <li>only {@code fail-open} gives up 1, and then the decision log says so.
 * </ol>
 */
class RoutingGuaranteeProperties {
  private static final String SERVICE = "demo.Greeter";
  private static final String CLUSTER = "demo-greeter";
  private static final List<String> METHODS = List.of("A", "B", "C", "D", "E");
  /** A method no build ever serves: its calls must fail closed. */
  private static final String NOBODY = "Z";
  private static final Instant START = Instant.parse("2026-01-02T00:00:00Z");
  private static final Duration LIVE_TTL = Duration.ofHours(1);
  private static final Duration SHORT_TTL = Duration.ofSeconds(1);
  private static final SnapshotBuilder BUILDER = new SnapshotBuilder("127.0.0.1", 15001);

  /** How an endpoint made itself known. */
  enum Source { DESCRIPTOR_SET, HASH_ONLY, STATIC }

  /** What its last reflection probe said. */
  enum Probe { PROBED, NOT_PROBED, NO_REFLECTION, TIMEOUT }

  /**
   * One process: the build it really serves ({@code truth}) and what it told protomatch ({@code claimed}:
   * the same build unless it lies, which only a probe reveals).
   */
  record Member(int id, ServiceFingerprint truth, ServiceFingerprint claimed, Source source, Probe probe,
                boolean leaseLive) {
    EndpointAddress address() {
      return new EndpointAddress("127.0.%d.%d".formatted(id / 200, 1 + id % 200), 50051);
    }

    @Override
    public String toString() {
      return address().host() + " serves " + surface(truth) + (claimed.equals(truth) ? "" : " claims " + surface(claimed))
          + " " + source + " " + probe + (leaseLive ? "" : " lease-lapsed");
    }

    /** Probed, truthful, live: protomatch knows for sure what it serves. */
    boolean certain() {
      return probe == Probe.PROBED && truth.equals(claimed) && leaseLive;
    }
  }

  record Fleet(List<ServiceFingerprint> builds, List<Member> members) {
    @Override
    public String toString() {
      return members.toString();
    }
  }

  /** A build as {A,B'} (a prime: the other request type) with #1 for the other schema. */
  static String surface(ServiceFingerprint build) {
    return build.methods().values().stream()
        .map(m -> m.name() + (m.inputType().equals("demo.Request") ? "" : "'")).collect(Collectors.joining(",", "{", "}"))
        + (build.schema().equals(hash(build.methods().values().toString() + "#schema0")) ? "" : "#1");
  }

  // --- 1 and 4: every state -------------------------------------------------------------------------

  @Property(tries = 400, edgeCases = EdgeCasesMode.NONE)
  void noRouteLeadsToABuildWithoutItsMethod(@ForAll("fleets") Fleet fleet, @ForAll("policies") Policy policy,
                                            @ForAll long order) {
    Published published = publish(fleet.members(), policy, order);
    ServiceDecision decision = published.decision().services().get(SERVICE);
    Statistics.label("policy").collect(policy.expectation().getClass().getSimpleName());
    Statistics.label("outcome").collect(decision.outcome());
    Statistics.label("endpoints taking calls").collect(Math.min(decision.included().size(), 3));

    List<String> violations = violations(published.resources(), published.resources(), published.resources(),
        truthOf(fleet.members()));

    assertGuaranteeOrFailOpen(violations, published);
  }

  // --- 1 in every mix of two consecutive states -----------------------------------------------------

  @Property(tries = 300, edgeCases = EdgeCasesMode.NONE)
  void noMixOfConsecutiveStatesLeadsToABuildWithoutItsMethod(
      @ForAll("transitions") Transition transition, @ForAll("policies") Policy policy, @ForAll long order) {
    Published before = publish(transition.before(), policy, order);
    Published after = publish(transition.after(), policy, order);
    List<Published> states = List.of(before, after);
    List<Map<EndpointAddress, ServiceFingerprint>> truths =
        List.of(truthOf(transition.before()), truthOf(transition.after()));

    for (int routes = 0; routes < 2; routes++) {
      for (int clusters = 0; clusters < 2; clusters++) {
        for (int assignments = 0; assignments < 2; assignments++) {
          List<String> violations = violations(states.get(routes).resources(), states.get(clusters).resources(),
              states.get(assignments).resources(), truths.get(assignments));
          if (states.get(routes).failedOpen() || states.get(assignments).failedOpen()) {
            continue; // fail-open knowingly gives the guarantee up (checked in the single-state property)
          }
          assertThat(violations).as("routes from state %d, clusters from %d, assignments from %d",
              routes + 1, clusters + 1, assignments + 1).isEmpty();
        }
      }
    }
  }

  // --- 2: no needless UNAVAILABLE -------------------------------------------------------------------

  @Property(tries = 400, edgeCases = EdgeCasesMode.NONE)
  void everyMethodOfAQualifyingCertainBuildIsReachable(@ForAll("fleets") Fleet fleet,
                                                       @ForAll("policies") Policy policy, @ForAll long order) {
    Published published = publish(fleet.members(), policy, order);
    Map<String, List<String>> reachable = reachableEndpoints(published.resources());

    for (Member member : fleet.members()) {
      if (member.certain() && qualifies(policy.expectation(), member.truth())) {
        for (String method : member.truth().methods().keySet()) {
          assertThat(reachable.getOrDefault(method, List.of()))
              .as("%s of %s (%s)", method, member.address(), policy).isNotEmpty();
        }
      }
    }
  }

  // --- 3: order and restarts ------------------------------------------------------------------------

  @Property(tries = 300, edgeCases = EdgeCasesMode.NONE)
  void resourcesDependOnTheLiveBuildsNotOnArrivalOrderOrRestarts(
      @ForAll("fleets") Fleet fleet, @ForAll("policies") Policy policy, @ForAll long order, @ForAll long other) {
    Published first = publish(fleet.members(), policy, order);
    Published restarted = publish(fleet.members(), policy, other); // a fresh registry: a restarted protomatch

    for (NodeKind kind : NodeKind.values()) {
      assertThat(BUILDER.build(restarted.decision(), kind)).isEqualTo(BUILDER.build(first.decision(), kind));
    }
  }

  // --- the harness ----------------------------------------------------------------------------------

  /** A policy form with its fallbacks. */
  record Policy(Expectation expectation, WhenNoneQualify whenNoneQualify, WithoutReflection withoutReflection) {
    @Override
    public String toString() {
      String form = expectation instanceof Expectation.PinnedHash pin
          ? pin.level().id() + " " + CATALOG.stream().filter(b -> b.hash(pin.level()).equals(pin.hash()))
              .map(RoutingGuaranteeProperties::surface).findFirst().orElse("?")
          : expectation instanceof Expectation.RequiredMethods required ? "methods " + required.methods() : "newest";
      return form + " " + whenNoneQualify + " " + withoutReflection;
    }

    ServicePolicy servicePolicy() {
      return new ServicePolicy(SERVICE, CLUSTER, expectation, whenNoneQualify, withoutReflection, List.of());
    }
  }

  record Transition(List<Member> before, List<Member> after) {
    @Override
    public String toString() {
      return before + " -> " + after;
    }
  }

  record Published(RoutingDecision decision, XdsResources resources, List<String> log) {
    boolean failedOpen() {
      return decision.services().get(SERVICE).outcome() == ServiceDecision.Outcome.NONE_QUALIFIED_FAIL_OPEN;
    }
  }

  /**
   * Registers the members in an order drawn from {@code order} (each a second after the previous), records
   * their probes, lets short leases lapse, decides and builds what proxyless clients receive.
   */
  private static Published publish(List<Member> members, Policy policy, long order) {
    TestClock clock = new TestClock(START);
    InMemoryEndpointRegistry registry = new InMemoryEndpointRegistry(clock);
    List<Member> shuffled = new ArrayList<>(members);
    Collections.shuffle(shuffled, new Random(order));
    Map<EndpointAddress, Set<String>> statics = new HashMap<>();
    for (Member member : shuffled) {
      clock.advance(Duration.ofSeconds(1));
      if (member.source() == Source.STATIC) {
        statics.put(member.address(), Set.of(SERVICE));
        registry.replaceStaticEndpoints(new HashMap<>(statics));
      } else {
        Advertisement advertisement = member.source() == Source.DESCRIPTOR_SET ? Advertisement.of(member.claimed())
            : new Advertisement(SERVICE, Optional.of(member.claimed().api()), Optional.of(member.claimed().schema()),
                Optional.empty());
        registry.register(new EndpointRegistration(member.address(), Locality.UNKNOWN, Map.of(), 1,
            List.of(advertisement), "agent"), member.leaseLive() ? LIVE_TTL : SHORT_TTL);
      }
      long generation = registry.state().endpoints().get(member.address()).generation();
      switch (member.probe()) {
        case PROBED -> registry.recordProbe(member.address(), generation,
            new ProbeState.Probed(clock.instant(), ReflectionProtocol.V1, new TreeMap<>(Map.of(SERVICE, member.truth()))));
        case NO_REFLECTION -> registry.recordProbe(member.address(), generation, new ProbeState.Failed(clock.instant(),
            ReflectionException.Kind.NOT_SUPPORTED, member.address() + ": no reflection", 1));
        case TIMEOUT -> registry.recordProbe(member.address(), generation, new ProbeState.Failed(clock.instant(),
            ReflectionException.Kind.TIMEOUT, member.address() + ": timed out", 1));
        case NOT_PROBED -> { }
      }
    }
    clock.advance(Duration.ofSeconds(5)); // short leases lapse, long ones hold
    RoutingDecision decision = RoutingDecider.decide(
        new PolicyDocument(Settings.defaults(), List.of(policy.servicePolicy())), registry.state(), clock.instant());
    List<String> log = new ArrayList<>();
    new DecisionChangeLog(registry::state, log::add).accept(decision);
    return new Published(decision, BUILDER.build(decision, NodeKind.PROXYLESS), log);
  }

  /**
   * Every way a call could reach a process that lacks its method: each route (exact path, or the prefix
   * for any method without one) taken from {@code routes}, its cluster looked up in {@code clusters}, its
   * endpoints in {@code assignments}, and what each endpoint serves per {@code truth}.
   */
  private static List<String> violations(XdsResources routes, XdsResources clusters, XdsResources assignments,
                                         Map<EndpointAddress, ServiceFingerprint> truth) {
    Set<String> clusterNames = clusters.clusters().stream().map(Cluster::getName).collect(Collectors.toSet());
    Map<String, ClusterLoadAssignment> byName = assignments.endpoints().stream()
        .collect(Collectors.toMap(ClusterLoadAssignment::getClusterName, c -> c));
    List<String> violations = new ArrayList<>();
    TreeSet<String> called = new TreeSet<>(METHODS);
    called.add(NOBODY);
    for (RouteConfiguration configuration : routes.routes()) {
      List<Route> routeList = configuration.getVirtualHosts(0).getRoutesList();
      for (String method : called) {
        String path = "/" + SERVICE + "/" + method;
        Optional<Route> route = routeList.stream().filter(r -> r.getMatch().getPath().equals(path)
            || (r.getMatch().hasPrefix() && path.startsWith(r.getMatch().getPrefix()))).findFirst();
        if (route.isEmpty() || !clusterNames.contains(route.get().getRoute().getCluster())) {
          continue; // no route or no cluster: UNAVAILABLE
        }
        ClusterLoadAssignment cla = byName.get(route.get().getRoute().getCluster());
        if (cla == null) {
          continue;
        }
        Set<MethodSignature> signatures = new java.util.HashSet<>();
        cla.getEndpointsList().stream().flatMap(l -> l.getLbEndpointsList().stream()).forEach(e -> {
          var socket = e.getEndpoint().getAddress().getSocketAddress();
          EndpointAddress address = new EndpointAddress(socket.getAddress(), socket.getPortValue());
          MethodSignature served = truth.get(address).methods().get(method);
          if (served == null) {
            violations.add(path + " -> " + cla.getClusterName() + " reaches " + address + ", whose build lacks it");
          } else {
            signatures.add(served);
          }
        });
        if (signatures.size() > 1) {
          violations.add(path + " -> " + cla.getClusterName() + " mixes signatures " + signatures);
        }
      }
    }
    return violations;
  }

  private static void assertGuaranteeOrFailOpen(List<String> violations, Published published) {
    if (published.failedOpen()) {
      assertThat(published.log()).as("the decision log names the fail-open").anyMatch(line -> line.contains("fail-open"));
    } else {
      assertThat(violations).as(published.decision().services().get(SERVICE).toString()).isEmpty();
    }
  }

  /** Per method, the endpoints an exact-path route leads to. */
  private static Map<String, List<String>> reachableEndpoints(XdsResources resources) {
    Map<String, List<String>> byCluster = new HashMap<>();
    resources.endpoints().forEach(cla -> byCluster.put(cla.getClusterName(), cla.getEndpointsList().stream()
        .flatMap(l -> l.getLbEndpointsList().stream())
        .map(e -> e.getEndpoint().getAddress().getSocketAddress().getAddress()).toList()));
    Map<String, List<String>> reachable = new HashMap<>();
    for (RouteConfiguration configuration : resources.routes()) {
      for (Route route : configuration.getVirtualHosts(0).getRoutesList()) {
        String path = route.getMatch().getPath();
        if (!path.isEmpty()) {
          reachable.put(path.substring(path.lastIndexOf('/') + 1),
              byCluster.getOrDefault(route.getRoute().getCluster(), List.of()));
        }
      }
    }
    return reachable;
  }

  /** Whether the policy admits this build, as docs/policies.md states it. */
  private static boolean qualifies(Expectation expectation, ServiceFingerprint build) {
    if (expectation instanceof Expectation.PinnedHash pin) {
      return build.hash(pin.level()).equals(pin.hash());
    }
    if (expectation instanceof Expectation.RequiredMethods required) {
      return build.methods().keySet().containsAll(required.methods());
    }
    return true;
  }

  private static Map<EndpointAddress, ServiceFingerprint> truthOf(List<Member> members) {
    Map<EndpointAddress, ServiceFingerprint> truth = new HashMap<>();
    members.forEach(m -> truth.put(m.address(), m.truth()));
    return truth;
  }

  // --- generators -----------------------------------------------------------------------------------

  /**
   * Builds that overlap, diverge and conflict as real rollouts do: v1 < v2 < v3 < v4 in methods, v2x whose
   * B takes another request type, v2s with v2's methods but other message shapes (same api, other schema),
   * and w, which shares nothing with v1.
   */
  private static final List<ServiceFingerprint> CATALOG = List.of(
      fingerprint(Map.of("A", 0), 0),
      fingerprint(Map.of("A", 0, "B", 0), 0),
      fingerprint(Map.of("A", 0, "B", 0, "C", 0), 0),
      fingerprint(Map.of("A", 0, "B", 0, "C", 0, "D", 0), 0),
      fingerprint(Map.of("A", 0, "B", 1), 0),
      fingerprint(Map.of("A", 0, "B", 0), 1),
      fingerprint(Map.of("C", 1, "E", 0), 0));

  /** One of the catalog's builds (mostly) or a random one. */
  static Arbitrary<ServiceFingerprint> builds() {
    return Arbitraries.frequencyOf(
        net.jqwik.api.Tuple.of(4, Arbitraries.of(CATALOG)), net.jqwik.api.Tuple.of(1, randomBuilds()));
  }

  /** A build: some of the methods, each with one of two request types; schema variants share an api hash. */
  static Arbitrary<ServiceFingerprint> randomBuilds() {
    Arbitrary<Map<String, Integer>> methods = Arbitraries.subsetOf(METHODS).ofMinSize(1)
        .flatMap(names -> Arbitraries.integers().between(0, 1).list().ofSize(names.size()).map(variants -> {
          Map<String, Integer> out = new TreeMap<>();
          int i = 0;
          for (String name : new TreeSet<>(names)) {
            out.put(name, variants.get(i++));
          }
          return out;
        }));
    return Combinators.combine(methods, Arbitraries.integers().between(0, 1)).as(RoutingGuaranteeProperties::fingerprint);
  }

  static ServiceFingerprint fingerprint(Map<String, Integer> variants, int schemaVariant) {
    SortedMap<String, MethodSignature> methods = new TreeMap<>();
    variants.forEach((name, variant) -> methods.put(name, new MethodSignature(name,
        variant == 0 ? "demo.Request" : "demo.OtherRequest", "demo.Reply", false, false)));
    String api = methods.values().toString();
    return new ServiceFingerprint(SERVICE, hash(api), hash(api + "#schema" + schemaVariant), methods);
  }

  private static DescriptorHash hash(String text) {
    try {
      return new DescriptorHash("sha256:" + HexFormat.of().formatHex(
          MessageDigest.getInstance("SHA-256").digest(text.getBytes(StandardCharsets.UTF_8))));
    } catch (java.security.NoSuchAlgorithmException e) {
      throw new IllegalStateException(e);
    }
  }

  @Provide
  Arbitrary<Fleet> fleets() {
    return builds().list().ofMinSize(1).ofMaxSize(4).flatMap(builds -> members(builds, 0, 8)
        .map(members -> new Fleet(builds, members)));
  }

  private static final Arbitrary<Probe> PROBES = Arbitraries.frequency(
      net.jqwik.api.Tuple.of(4, Probe.PROBED), net.jqwik.api.Tuple.of(1, Probe.NOT_PROBED),
      net.jqwik.api.Tuple.of(1, Probe.NO_REFLECTION), net.jqwik.api.Tuple.of(1, Probe.TIMEOUT));

  /** Endpoints with ids from {@code firstId}, each serving one of {@code builds}. */
  private static Arbitrary<List<Member>> members(List<ServiceFingerprint> builds, int firstId, int max) {
    Arbitrary<ServiceFingerprint> build = Arbitraries.of(builds);
    Arbitrary<Member> member = Combinators.combine(build, build, Arbitraries.integers().between(0, 9),
            Arbitraries.of(Source.class), PROBES, Arbitraries.integers().between(0, 5))
        .as((truth, other, lie, source, probe, lease) -> new Member(0, truth,
            lie == 0 && probe == Probe.PROBED ? other : truth, source, probe, lease != 0));
    return member.list().ofMaxSize(max).map(list -> {
      List<Member> numbered = new ArrayList<>();
      for (int i = 0; i < list.size(); i++) {
        Member m = list.get(i);
        numbered.add(new Member(firstId + i, m.truth(), m.claimed(), m.source(), m.probe(), m.leaseLive()));
      }
      return numbered;
    });
  }

  /** Two consecutive fleets: some endpoints leave, new ones (maybe of new builds) arrive. */
  @Provide
  Arbitrary<Transition> transitions() {
    return builds().list().ofMinSize(1).ofMaxSize(4).flatMap(builds -> Combinators.combine(
        members(builds, 0, 8), members(builds, 100, 4), Arbitraries.integers().between(0, 255), builds())
        .as((stay, arrive, leaveMask, newBuild) -> {
          List<Member> after = new ArrayList<>();
          for (int i = 0; i < stay.size(); i++) {
            if ((leaveMask & (1 << i)) == 0) {
              after.add(stay.get(i));
            }
          }
          for (Member m : arrive) {
            ServiceFingerprint truth = m.id() % 2 == 0 ? newBuild : m.truth();
            after.add(new Member(m.id(), truth, m.claimed().equals(m.truth()) ? truth : m.claimed(), m.source(),
                m.probe(), m.leaseLive()));
          }
          return new Transition(stay, after);
        }));
  }

  @Provide
  Arbitrary<Policy> policies() {
    Arbitrary<Expectation> newest = Arbitraries.just(new Expectation.Newest());
    Arbitrary<Expectation> methods = Arbitraries.subsetOf(List.of("A", "B", "C", "D", "E", NOBODY)).ofMinSize(1)
        .map(set -> new Expectation.RequiredMethods(new TreeSet<>(set)));
    Arbitrary<Expectation> api = Arbitraries.of(CATALOG).map(b -> new Expectation.PinnedHash(HashLevel.API, b.api()));
    Arbitrary<Expectation> schema = Arbitraries.of(CATALOG)
        .map(b -> new Expectation.PinnedHash(HashLevel.SCHEMA, b.schema()));
    return Combinators.combine(Arbitraries.oneOf(newest, methods, api, schema),
        Arbitraries.of(WhenNoneQualify.class), Arbitraries.of(WithoutReflection.class)).as(Policy::new);
  }
}
