package dev.protomatch.benchmarks.scale;

import dev.protomatch.decision.RoutingDecider;
import dev.protomatch.decision.RoutingDecision;
import dev.protomatch.descriptor.DescriptorHasher;
import dev.protomatch.descriptor.ServiceFingerprint;
import dev.protomatch.policy.Expectation;
import dev.protomatch.policy.PolicyDocument;
import dev.protomatch.policy.ServicePolicy;
import dev.protomatch.policy.Settings;
import dev.protomatch.probe.ReflectionProtocol;
import dev.protomatch.registry.Advertisement;
import dev.protomatch.registry.EndpointAddress;
import dev.protomatch.registry.EndpointSource;
import dev.protomatch.registry.EndpointState;
import dev.protomatch.registry.Lease;
import dev.protomatch.registry.Locality;
import dev.protomatch.registry.ProbeState;
import dev.protomatch.registry.RegistryState;
import dev.protomatch.xds.NodeKind;
import dev.protomatch.xds.SnapshotBuilder;
import dev.protomatch.xds.XdsResources;
import io.envoyproxy.controlplane.cache.v3.SimpleCache;
import io.envoyproxy.controlplane.cache.v3.Snapshot;
import io.envoyproxy.controlplane.server.DefaultExecutorGroup;
import io.envoyproxy.controlplane.server.V3DiscoveryServer;
import io.envoyproxy.controlplane.server.serializer.CachedProtoResourcesSerializer;
import io.grpc.Server;
import io.grpc.netty.shaded.io.grpc.netty.NettyServerBuilder;
import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.EnumMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.TreeMap;

/**
 * The baseline: bare java-control-plane (a {@link SimpleCache} grouped by {@link NodeKind}, served by its
 * {@link V3DiscoveryServer} over a Netty gRPC server with the cached serializer, no protomatch wrapper, tracker,
 * guard or staging) holding the same resources protomatch publishes for the scale harness's {@link Fleet}: the
 * decision protomatch would make for the fleet (every endpoint trusted with the surface it advertised) is
 * computed here with protomatch's {@link RoutingDecider} and built with its {@link SnapshotBuilder}.
 *
 * <p>Driven over stdin/stdout: {@code PREPARE <add|remove> <service> <build> <host>} computes the next snapshots
 * (decision, resources, per-type versions) ahead of time and answers {@code PREPARED <ms>}; {@code APPLY} hands them to the cache ({@code APPLIED}), so
 * what the harness times after {@code APPLY} is the library's fan-out alone. A type's version changes only when
 * its resources do, as protomatch's do. Prints {@code LISTENING <port>} once serving.
 */
public final class BareControlPlane {
  private static final Instant NOW = Instant.parse("2026-01-01T00:00:00Z");

  private final Fleet fleet;
  private final PolicyDocument policies;
  private final DescriptorHasher hasher = new DescriptorHasher();
  private final TreeMap<EndpointAddress, EndpointState> endpoints = new TreeMap<>();
  private final SnapshotBuilder builder = new SnapshotBuilder("127.0.0.1", 15001);
  private final SimpleCache<String> cache = new SimpleCache<>(node -> NodeKind.of(node).group());
  private final Map<NodeKind, XdsResources> published = new EnumMap<>(NodeKind.class);
  private final Map<NodeKind, String[]> versions = new EnumMap<>(NodeKind.class);
  private Map<NodeKind, Snapshot> prepared;
  private long counter;
  private long generation;

  BareControlPlane(Fleet fleet) {
    this.fleet = fleet;
    List<ServicePolicy> list = new ArrayList<>();
    for (int i = 0; i < fleet.services(); i++) {
      list.add(new ServicePolicy(Fleet.service(i), Fleet.cluster(i), new Expectation.Newest(),
          ServicePolicy.WhenNoneQualify.FAIL_CLOSED, ServicePolicy.WithoutReflection.TRUST_ADVERTISED, List.of()));
    }
    policies = new PolicyDocument(Settings.defaults(), list);
    for (int e = 0; e < fleet.endpoints(); e++) {
      put(fleet.serviceOf(e), fleet.buildOf(e), Fleet.host(e));
    }
  }

  private void put(int service, int build, String host) {
    ServiceFingerprint fingerprint = hasher.fingerprint(Fleet.descriptorSet(service, build), "bench")
        .service(Fleet.service(service), "bench");
    EndpointAddress address = new EndpointAddress(host, fleet.port());
    endpoints.put(address, new EndpointState(++generation, address, EndpointSource.REGISTRATION,
        new Locality("", "", ""), new TreeMap<>(), 1,
        new TreeMap<>(Map.of(fingerprint.service(), Advertisement.of(fingerprint))),
        Optional.of(new Lease("lease-" + generation, Duration.ofSeconds(30), NOW.plusSeconds(30))), "bench", NOW,
        new ProbeState.Probed(NOW, ReflectionProtocol.V1, new TreeMap<>(Map.of(fingerprint.service(), fingerprint)))));
  }

  private Map<NodeKind, XdsResources> build() {
    RoutingDecision decision = RoutingDecider.decide(policies, new RegistryState(generation, endpoints), NOW);
    Map<NodeKind, XdsResources> next = new EnumMap<>(NodeKind.class);
    for (NodeKind kind : NodeKind.values()) {
      next.put(kind, builder.build(decision, kind));
    }
    return next;
  }

  /** The snapshots of {@code next}, versioned against those last prepared (a type's version changes with its resources). */
  private Map<NodeKind, Snapshot> snapshots(Map<NodeKind, XdsResources> next) {
    Map<NodeKind, Snapshot> snapshots = new EnumMap<>(NodeKind.class);
    for (NodeKind kind : NodeKind.values()) {
      XdsResources r = next.get(kind);
      XdsResources before = published.get(kind);
      String[] v = versions.computeIfAbsent(kind, k -> new String[] {"", "", "", ""});
      counter++;
      if (before == null || !before.clusters().equals(r.clusters())) {
        v[0] = "c" + counter;
      }
      if (before == null || !before.endpoints().equals(r.endpoints())) {
        v[1] = "e" + counter;
      }
      if (before == null || !before.listeners().equals(r.listeners())) {
        v[2] = "l" + counter;
      }
      if (before == null || !before.routes().equals(r.routes())) {
        v[3] = "r" + counter;
      }
      published.put(kind, r);
      snapshots.put(kind, Snapshot.create(r.clusters(), v[0], r.endpoints(), v[1], r.listeners(), v[2],
          r.routes(), v[3], List.of(), "s"));
    }
    return snapshots;
  }

  /** Hands prepared snapshots to the cache: what java-control-plane alone does for a change. */
  private void apply(Map<NodeKind, Snapshot> snapshots) {
    snapshots.forEach((kind, snapshot) -> cache.setSnapshot(kind.group(), snapshot));
  }

  public static void main(String[] args) throws Exception {
    Fleet fleet = new Fleet(LoadGenerator.intArg(args, "--endpoints", 100), LoadGenerator.intArg(args, "--services", 10),
        LoadGenerator.intArg(args, "--builds", 2), LoadGenerator.intArg(args, "--port", 9000));
    BareControlPlane bare = new BareControlPlane(fleet);
    bare.apply(bare.snapshots(bare.build()));
    V3DiscoveryServer discovery = new V3DiscoveryServer(List.of(), bare.cache, new DefaultExecutorGroup(),
        new CachedProtoResourcesSerializer());
    Server server = NettyServerBuilder.forAddress(new InetSocketAddress("127.0.0.1",
            LoadGenerator.intArg(args, "--xds-port", 0)))
        .permitKeepAliveTime(10, java.util.concurrent.TimeUnit.SECONDS).permitKeepAliveWithoutCalls(true)
        .addService(discovery.getAggregatedDiscoveryServiceImpl()).build().start();
    System.out.println("LISTENING " + server.getPort());
    System.out.flush();
    BufferedReader in = new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8));
    String line;
    while ((line = in.readLine()) != null) {
      String[] w = line.trim().split(" ");
      switch (w[0]) {
        case "PREPARE" -> {
          long start = System.nanoTime();
          if (w[1].equals("add")) {
            bare.put(Integer.parseInt(w[2]), Integer.parseInt(w[3]), w[4]);
          } else {
            bare.endpoints.remove(new EndpointAddress(w[4], fleet.port()));
            bare.generation++;
          }
          bare.prepared = bare.snapshots(bare.build());
          System.out.printf("PREPARED %.3f%n", (System.nanoTime() - start) / 1e6);
        }
        case "APPLY" -> {
          bare.apply(bare.prepared);
          System.out.println("APPLIED");
        }
        case "QUIT" -> {
          server.shutdownNow();
          System.out.println("BYE");
          System.out.flush();
          System.exit(0);
        }
        default -> System.out.println("ERROR unknown command: " + line);
      }
      System.out.flush();
    }
    System.exit(0);
  }
}
