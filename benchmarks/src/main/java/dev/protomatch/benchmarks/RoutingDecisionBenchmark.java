package dev.protomatch.benchmarks;

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
import dev.protomatch.registry.EndpointSource;
import dev.protomatch.registry.EndpointState;
import dev.protomatch.registry.Lease;
import dev.protomatch.registry.Locality;
import dev.protomatch.registry.ProbeState;
import dev.protomatch.registry.RegistryState;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.Warmup;

/**
 * The whole routing decision for a large fleet: {@code endpoints} endpoints spread evenly over
 * {@code services} services, each service in two builds (the newer with one method more, as in the field
 * failure), policies split between required methods, newest and a pinned api hash. Every endpoint is
 * probed and live, so every policy check runs.
 *
 * <p>Run: {@code java -jar benchmarks/target/benchmarks.jar RoutingDecisionBenchmark}.
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.SampleTime)
@OutputTimeUnit(TimeUnit.MILLISECONDS)
@Warmup(iterations = 3, time = 2)
@Measurement(iterations = 5, time = 2)
@Fork(1)
public class RoutingDecisionBenchmark {
  private static final Instant NOW = Instant.parse("2026-01-02T00:00:00Z");

  @Param("10000")
  int endpoints;

  @Param("1000")
  int services;

  PolicyDocument policies;
  RegistryState state;

  @Setup(Level.Trial)
  public void setUp() {
    List<ServicePolicy> policyList = new ArrayList<>();
    TreeMap<EndpointAddress, EndpointState> endpointMap = new TreeMap<>();
    List<ServiceFingerprint[]> builds = new ArrayList<>();
    for (int s = 0; s < services; s++) {
      String service = "bench.v1.Service" + s;
      ServiceFingerprint old = fingerprint(service, 9);
      ServiceFingerprint current = fingerprint(service, 10);
      builds.add(new ServiceFingerprint[] {old, current});
      Expectation expect = switch (s % 3) {
        case 0 -> new Expectation.RequiredMethods(new TreeSet<>(current.methods().keySet()));
        case 1 -> new Expectation.Newest();
        default -> new Expectation.PinnedHash(HashLevel.API, current.api());
      };
      policyList.add(new ServicePolicy(service, "cluster-" + s, expect, ServicePolicy.WhenNoneQualify.FAIL_CLOSED,
          ServicePolicy.WithoutReflection.TRUST_ADVERTISED, List.of()));
    }
    for (int e = 0; e < endpoints; e++) {
      ServiceFingerprint build = builds.get(e % services)[e / services % 2];
      EndpointAddress address = new EndpointAddress("10.0." + (e / 250) + "." + (e % 250), 8443);
      endpointMap.put(address, new EndpointState(e, address, EndpointSource.REGISTRATION,
          new Locality("region-" + e % 3, "zone-" + e % 9, ""), new TreeMap<>(), 1,
          new TreeMap<>(Map.of(build.service(), Advertisement.of(build))),
          Optional.of(new Lease("lease-" + e, Duration.ofSeconds(30), NOW.plusSeconds(30))), "agent", NOW,
          new ProbeState.Probed(NOW, ReflectionProtocol.V1, new TreeMap<>(Map.of(build.service(), build)))));
    }
    policies = new PolicyDocument(Settings.defaults(), policyList);
    state = new RegistryState(1, endpointMap);
  }

  @Benchmark
  public RoutingDecision decide() {
    return RoutingDecider.decide(policies, state, NOW);
  }

  /** The fleet of this benchmark (10,000 endpoints, 1,000 services of 10 methods in two builds), decided. */
  static RoutingDecision fleetDecision() {
    RoutingDecisionBenchmark fleet = new RoutingDecisionBenchmark();
    fleet.endpoints = 10_000;
    fleet.services = 1_000;
    fleet.setUp();
    return fleet.decide();
  }

  private static ServiceFingerprint fingerprint(String service, int methodCount) {
    TreeMap<String, MethodSignature> methods = new TreeMap<>();
    for (int m = 0; m < methodCount; m++) {
      methods.put("Method" + m, new MethodSignature("Method" + m, service + "Request" + m, service + "Reply" + m,
          false, m % 4 == 3));
    }
    return new ServiceFingerprint(service, hash(service + methodCount + "api"), hash(service + methodCount + "schema"),
        methods);
  }

  private static DescriptorHash hash(String seed) {
    try {
      return DescriptorHash.parse("sha256:" + HexFormat.of().formatHex(
          MessageDigest.getInstance("SHA-256").digest(seed.getBytes(StandardCharsets.UTF_8))));
    } catch (java.security.NoSuchAlgorithmException e) {
      throw new IllegalStateException(e);
    }
  }
}
