package dev.protomatch.xds;

import static org.assertj.core.api.Assertions.assertThat;

import ch.qos.logback.classic.Level;
import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.read.ListAppender;
import dev.protomatch.decision.RoutingDecision;
import dev.protomatch.testing.TestClock;
import io.envoyproxy.controlplane.cache.Resources;
import io.envoyproxy.controlplane.cache.VersionedResource;
import io.envoyproxy.controlplane.cache.v3.SimpleCache;
import io.envoyproxy.controlplane.cache.v3.Snapshot;
import io.envoyproxy.envoy.config.endpoint.v3.ClusterLoadAssignment;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Nested;
import org.junit.jupiter.api.Test;
import org.slf4j.LoggerFactory;

/**
 * Push discipline: content-derived versions, changed only when that type's resources changed and the same in
 * every process; and the pre-flight check, which keeps a refused snapshot away from clients.
 */
class SnapshotPublisherTest {
  /** The cluster TestDecisions' one build is published in. */
  private static final String BUILD_CLUSTER = SnapshotBuilder.buildSetCluster("demo-greeter",
      new java.util.TreeSet<>(List.of(dev.protomatch.testing.Decisions.build(1))));

  private static final List<Resources.ResourceType> TYPES = List.of(Resources.ResourceType.CLUSTER,
      Resources.ResourceType.ENDPOINT, Resources.ResourceType.LISTENER, Resources.ResourceType.ROUTE);

  private final SimpleCache<String> cache = newCache();
  private final SnapshotPublisher publisher = new SnapshotPublisher(cache, builder());
  private final List<SnapshotPublisher.Publication> publications = new ArrayList<>();

  SnapshotPublisherTest() {
    publisher.addListener(publications::add);
  }

  @Nested
  class Versions {
    @Test
    void everyTypeIsVersionedByADigestOfItsContent() {
      publisher.publish(decision(50051));

      Snapshot snapshot = proxyless(cache);
      assertThat(TYPES).allSatisfy(type -> assertThat(snapshot.version(type)).matches("[0-9a-f]{16}"));
      assertThat(TYPES.stream().map(snapshot::version).distinct()).hasSize(4);
    }

    @Test
    void anotherProcessPublishingTheSameDecisionPublishesTheSameVersions() {
      publisher.publish(decision(50051));
      SimpleCache<String> otherCache = newCache();

      new SnapshotPublisher(otherCache, builder()).publish(decision(50051));

      assertThat(TYPES).allSatisfy(type ->
          assertThat(proxyless(otherCache).version(type)).isEqualTo(proxyless(cache).version(type)));
      assertThat(resourceVersions(proxyless(otherCache))).isEqualTo(resourceVersions(proxyless(cache)))
          .isNotEmpty();
    }

    /** What a counter restarting at 1 gets wrong: a new process's first version is not the old one's first. */
    @Test
    void aRestartedProcessNeverReusesAVersionForOtherContent() {
      publisher.publish(decision(50051));
      String firstEndpoints = proxyless(cache).version(Resources.ResourceType.ENDPOINT);
      publisher.publish(decision(50052));
      String secondEndpoints = proxyless(cache).version(Resources.ResourceType.ENDPOINT);
      SimpleCache<String> restartedCache = newCache();

      new SnapshotPublisher(restartedCache, builder()).publish(decision(50052));

      String restarted = proxyless(restartedCache).version(Resources.ResourceType.ENDPOINT);
      assertThat(restarted).isEqualTo(secondEndpoints).isNotEqualTo(firstEndpoints);
    }

    @Test
    void unchangedDecisionPushesNothing() {
      publisher.publish(decision(50051));
      Snapshot first = proxyless(cache);

      publisher.publish(decision(50051));

      assertThat(proxyless(cache)).isSameAs(first);
      assertThat(publications).hasSize(2); // one per node kind, from the first publish only
    }

    @Test
    void endpointChangeChangesOnlyTheEndpointVersion() {
      publisher.publish(decision(50051));
      Snapshot first = proxyless(cache);

      publisher.publish(decision(50052));

      Snapshot second = proxyless(cache);
      assertThat(second.version(Resources.ResourceType.ENDPOINT))
          .isNotEqualTo(first.version(Resources.ResourceType.ENDPOINT));
      for (Resources.ResourceType type : List.of(Resources.ResourceType.CLUSTER, Resources.ResourceType.LISTENER,
          Resources.ResourceType.ROUTE)) {
        assertThat(second.version(type)).as("%s", type).isEqualTo(first.version(type));
      }
      SnapshotPublisher.Publication last = publications.get(publications.size() - 1);
      assertThat(last.changed()).containsExactly(Map.entry(XdsType.EDS, second.version(Resources.ResourceType.ENDPOINT)));
      assertThat(last.changedTypes()).containsExactly("EDS " + second.version(Resources.ResourceType.ENDPOINT));
      assertThat(last.versions()).containsEntry(XdsType.CDS, first.version(Resources.ResourceType.CLUSTER));
    }

    @Test
    void contentThatComesBackComesBackWithItsVersion() {
      publisher.publish(decision(50051));
      String first = proxyless(cache).version(Resources.ResourceType.ENDPOINT);
      publisher.publish(decision(50052));

      publisher.publish(decision(50051));

      assertThat(proxyless(cache).version(Resources.ResourceType.ENDPOINT)).isEqualTo(first);
    }
  }

  @Nested
  class Preflight {
    private final TestClock clock = TestClock.atEpochPlusOneDay();
    private final List<SnapshotPublisher.Rejection> rejected = new ArrayList<>();
    private final SnapshotPublisher checked = new SnapshotPublisher(cache, builder(), Preflight::noPort50052, clock);

    Preflight() {
      checked.addListener(publications::add);
      checked.addRejectionListener(rejected::add);
    }

    /** A stand-in for a real validator: every assignment holding port 50052 is a problem. */
    static List<String> noPort50052(NodeKind kind, XdsResources resources) {
      return resources.endpoints().stream()
          .filter(cla -> ports(cla).contains(50052))
          .map(cla -> "ClusterLoadAssignment '" + cla.getClusterName() + "': port 50052 is not allowed")
          .toList();
    }

    @Test
    void aRefusedSnapshotIsNotPublishedAndTheLastGoodOneStaysInForce() {
      checked.publish(decision(50051));
      Snapshot good = proxyless(cache);
      int published = publications.size();

      clock.advance(Duration.ofSeconds(1));
      checked.publish(decision(50052));

      assertThat(proxyless(cache)).isSameAs(good);
      assertThat(publications).hasSize(published);
      assertThat(rejected).extracting(SnapshotPublisher.Rejection::kind).containsExactly(NodeKind.ENVOY, NodeKind.PROXYLESS);
      assertThat(checked.rejections()).hasSize(2).allSatisfy(rejection -> {
        assertThat(rejection.problems()).containsExactly(
            "ClusterLoadAssignment '" + BUILD_CLUSTER + "': port 50052 is not allowed");
        assertThat(rejection.at()).isEqualTo(clock.instant());
        assertThat(rejection.since()).isEqualTo(clock.instant());
      });
      assertThat(checked.rejections().get(1).versionsInForce())
          .containsEntry(XdsType.EDS, good.version(Resources.ResourceType.ENDPOINT)).hasSize(4);
    }

    @Test
    void problemsAreLoggedOncePerDistinctSetAndEachRefusedSnapshotIsAnnounced() {
      ListAppender<ILoggingEvent> logged = capture();
      try {
        checked.publish(decision(50051));
        checked.publish(decision(50052));
        checked.publish(decision(50052)); // the same refused snapshot: nothing new
        clock.advance(Duration.ofSeconds(1));
        checked.publish(decision(50052, 50053)); // another refused snapshot, the same problem

        assertThat(rejected).hasSize(4); // two refused snapshots, each for both node groups
        assertThat(warnings(logged)).hasSize(2).allSatisfy(line -> assertThat(line)
            .contains("refused by the pre-flight check", "the last good one stays in force",
                "ClusterLoadAssignment '" + BUILD_CLUSTER + "': port 50052 is not allowed"));
        assertThat(checked.rejections()).allSatisfy(rejection ->
            assertThat(rejection.since()).isEqualTo(clock.instant().minusSeconds(1)));
      } finally {
        release(logged);
      }
    }

    @Test
    void aGoodSnapshotAfterARefusedOneIsPublishedAndClearsTheRejection() {
      checked.publish(decision(50051));
      checked.publish(decision(50052));

      checked.publish(decision(50053));

      assertThat(checked.rejections()).isEmpty();
      assertThat(ports(proxyless(cache).endpoints().resources().get(BUILD_CLUSTER))).containsExactly(50053);
    }

    @Test
    void resourcesBackToTheOnesInForceClearTheRejection() {
      checked.publish(decision(50051));
      checked.publish(decision(50052));

      checked.publish(decision(50051));

      assertThat(checked.rejections()).isEmpty();
    }

    @Test
    void aFirstSnapshotThatIsRefusedLeavesTheGroupUnpublished() {
      checked.publish(decision(50052));

      assertThat(cache.getSnapshot(NodeKind.PROXYLESS.group())).isNull();
      assertThat(checked.rejections()).allSatisfy(r -> assertThat(r.versionsInForce()).isEmpty());
    }

    @Test
    void aPreflightThatThrowsRefusesTheSnapshot() {
      SnapshotPublisher broken = new SnapshotPublisher(cache, builder(), (kind, resources) -> {
        throw new IllegalStateException("validator bug");
      }, clock);

      broken.publish(decision(50051));

      assertThat(cache.getSnapshot(NodeKind.PROXYLESS.group())).isNull();
      assertThat(broken.rejections()).allSatisfy(r -> assertThat(r.problems())
          .containsExactly("pre-flight check failed: java.lang.IllegalStateException: validator bug"));
    }

    private ListAppender<ILoggingEvent> capture() {
      ListAppender<ILoggingEvent> logged = new ListAppender<>();
      logged.start();
      ((Logger) LoggerFactory.getLogger(SnapshotPublisher.class)).addAppender(logged);
      return logged;
    }

    private void release(ListAppender<ILoggingEvent> logged) {
      ((Logger) LoggerFactory.getLogger(SnapshotPublisher.class)).detachAppender(logged);
    }

    private List<String> warnings(ListAppender<ILoggingEvent> logged) {
      return logged.list.stream().filter(e -> e.getLevel() == Level.WARN).map(ILoggingEvent::getFormattedMessage)
          .toList();
    }
  }

  /** A process that starts while clients hold what an earlier one published under another policy. */
  @Nested
  class AssumedPublished {
    private final RoutingDecision before = TestDecisions.greeter("demo-greeter-before", 50051);
    private final RoutingDecision after = TestDecisions.greeter("demo-greeter", 50052);
    /** A restarted process whose clients (from before the restart) have not ACKed anything yet. */
    private final SnapshotPublisher restarted = new SnapshotPublisher(cache, builder(), SnapshotPreflight.ACCEPT_ALL,
        Clock.systemUTC(), new ClientAcks() {
          @Override
          public boolean allAcked(NodeKind kind, XdsType type, java.util.Set<String> versions) {
            return false;
          }

          @Override
          public boolean allHoldClusters(NodeKind kind, java.util.Set<String> clusters, String clustersVersion,
                                         String endpointsVersion) {
            return false;
          }
        }, Duration.ofMinutes(10), Duration.ZERO);

    @Test
    void theFirstPublicationKeepsTheClustersItDropsUntilClientsAckedRoutesWithoutThem() {
      restarted.assumePublished(before);
      restarted.publish(after);

      assertThat(clusterNames(proxyless(cache))).containsAll(clustersOf(before)).containsAll(clustersOf(after));
      assertThat(proxyless(cache).endpoints().resources().keySet()).containsAll(clustersOf(before));
    }

    @Test
    void clustersClientsStillSubscribeToAreKeptEmptyWhereThisProcessHasNone() {
      restarted.assumeSubscribed(NodeKind.PROXYLESS, java.util.Set.of("demo-greeter~0123456789ab"));
      restarted.publish(after);

      assertThat(clusterNames(proxyless(cache))).contains("demo-greeter~0123456789ab").containsAll(clustersOf(after));
      assertThat(proxyless(cache).endpoints().resources().get("demo-greeter~0123456789ab").getEndpointsCount()).isZero();
    }

    @Test
    void withoutItTheFirstPublicationHoldsOnlyItsOwnClusters() {
      restarted.publish(after);

      assertThat(clusterNames(proxyless(cache))).isEqualTo(clustersOf(after)).doesNotContainAnyElementsOf(clustersOf(before));
    }

    @Test
    void itPublishesNothing() {
      restarted.assumePublished(before);

      assertThat(proxyless(cache)).isNull();
    }

    private java.util.Set<String> clustersOf(RoutingDecision decision) {
      SimpleCache<String> elsewhere = newCache();
      new SnapshotPublisher(elsewhere, builder()).publish(decision);
      return clusterNames(proxyless(elsewhere));
    }

    private java.util.Set<String> clusterNames(Snapshot snapshot) {
      return new java.util.TreeSet<>(snapshot.clusters().resources().keySet());
    }
  }

  private static SimpleCache<String> newCache() {
    return new SimpleCache<>(node -> NodeKind.of(node).group());
  }

  private static SnapshotBuilder builder() {
    return new SnapshotBuilder("127.0.0.1", 15001);
  }

  private static Snapshot proxyless(SimpleCache<String> cache) {
    return cache.getSnapshot(NodeKind.PROXYLESS.group());
  }

  private static Map<String, String> resourceVersions(Snapshot snapshot) {
    Map<String, String> versions = new TreeMap<>();
    for (Resources.ResourceType type : TYPES) {
      Map<String, VersionedResource<?>> resources = snapshot.versionedResources(type);
      resources.forEach((name, resource) -> versions.put(type + "/" + name, resource.version()));
    }
    return versions;
  }

  private static List<Integer> ports(ClusterLoadAssignment assignment) {
    return assignment.getEndpointsList().stream().flatMap(locality -> locality.getLbEndpointsList().stream())
        .map(e -> e.getEndpoint().getAddress().getSocketAddress().getPortValue()).sorted().collect(Collectors.toList());
  }

  private static RoutingDecision decision(int... ports) {
    return TestDecisions.greeter(ports);
  }
}
