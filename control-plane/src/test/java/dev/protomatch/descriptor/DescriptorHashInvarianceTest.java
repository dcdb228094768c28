package dev.protomatch.descriptor;

import static org.assertj.core.api.Assertions.assertThat;

import com.google.protobuf.DescriptorProtos.FileDescriptorSet;
import dev.protomatch.probe.ReflectionClient;
import dev.protomatch.probe.ReflectionException;
import dev.protomatch.probe.ReflectionProtocol;
import dev.protomatch.probe.ReflectionResult;
import dev.protomatch.testing.DescriptorFixtures;
import dev.protomatch.testing.DescriptorFixtures.Fixture;
import dev.protomatch.testing.LoopbackServer;
import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.function.UnaryOperator;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.EnumSource;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * The same service must hash the same whichever producer describes it and however its files are laid out.
 * Every fixture runs through every producer: protoc's descriptor set, runtime descriptors of the generated
 * classes, and gRPC reflection (v1 and v1alpha) from a real grpc-java server on loopback.
 */
class DescriptorHashInvarianceTest {
  private static final Map<Fixture, LoopbackServer> SERVERS = new HashMap<>();
  private final DescriptorHasher hasher = new DescriptorHasher();

  @BeforeAll
  static void startServers() {
    for (Fixture fixture : DescriptorFixtures.all()) {
      SERVERS.put(fixture, LoopbackServer.start(
          LoopbackServer.Reflection.V1_AND_V1ALPHA, fixture.implementation().get()));
    }
  }

  @AfterAll
  static void stopServers() throws InterruptedException {
    for (LoopbackServer server : SERVERS.values()) {
      server.close();
    }
  }

  static List<Fixture> fixtures() {
    return DescriptorFixtures.all();
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("fixtures")
  void runtimeDescriptorsHashLikeProtocDescriptorSet(Fixture fixture) {
    assertThat(fingerprint(fixture.runtimeSet(), fixture)).isEqualTo(fingerprint(fixture.protocSet(), fixture));
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("fixtures")
  void linkedServiceDescriptorHashesLikeProtocDescriptorSet(Fixture fixture) {
    assertThat(DescriptorHasher.fingerprint(fixture.runtimeFile().findServiceByName(
        fixture.service().substring(fixture.service().lastIndexOf('.') + 1))))
        .isEqualTo(fingerprint(fixture.protocSet(), fixture));
  }

  static Stream<Arguments> fixturesAndReflectionProtocols() {
    return DescriptorFixtures.all().stream().flatMap(fixture ->
        Stream.of(ReflectionProtocol.values()).map(protocol -> Arguments.of(fixture, protocol)));
  }

  @ParameterizedTest(name = "{0} via {1}")
  @MethodSource("fixturesAndReflectionProtocols")
  void reflectionAnswerHashesLikeProtocDescriptorSet(Fixture fixture, ReflectionProtocol protocol)
      throws ReflectionException {
    LoopbackServer server = SERVERS.get(fixture);
    ReflectionResult answer = new ReflectionClient(Duration.ofSeconds(10))
        .fetch(server.channel(), server.address(), protocol);

    assertThat(answer.services()).contains(fixture.service());
    assertThat(fingerprint(answer.files(), fixture)).isEqualTo(fingerprint(fixture.protocSet(), fixture));
  }

  @Test
  void catalogLayoutsWithDifferentFilesOrderCommentsAndOptionsHashTheSame() {
    assertThat(fingerprint(DescriptorFixtures.CATALOG_LAYOUT_B.protocSet(), DescriptorFixtures.CATALOG_LAYOUT_B))
        .isEqualTo(fingerprint(DescriptorFixtures.CATALOG_LAYOUT_A.protocSet(), DescriptorFixtures.CATALOG_LAYOUT_A));
  }

  enum Rewrite {
    RENAMED_FILES(DescriptorTransforms::renameFiles),
    REVERSED_DECLARATIONS(DescriptorTransforms::reverseDeclarationOrder),
    NO_SOURCE_INFO(DescriptorTransforms::stripSourceInfo),
    NO_OPTIONS_OR_SOURCE_INFO(DescriptorTransforms::stripSourceInfoAndOptions),
    JSON_NAMES_SET(DescriptorTransforms::withJsonNames),
    JSON_NAMES_ABSENT(DescriptorTransforms::withoutJsonNames);

    final UnaryOperator<FileDescriptorSet> apply;

    Rewrite(UnaryOperator<FileDescriptorSet> apply) {
      this.apply = apply;
    }
  }

  @ParameterizedTest(name = "{0}")
  @EnumSource(Rewrite.class)
  void catalogHashIgnores(Rewrite rewrite) {
    Fixture catalog = DescriptorFixtures.CATALOG_LAYOUT_A;
    FileDescriptorSet rewritten = rewrite.apply.apply(catalog.protocSet());

    assertThat(rewritten).isNotEqualTo(catalog.protocSet());
    assertThat(fingerprint(rewritten, catalog)).isEqualTo(fingerprint(catalog.protocSet(), catalog));
  }

  private ServiceFingerprint fingerprint(FileDescriptorSet set, Fixture fixture) {
    return hasher.fingerprint(set, fixture.name()).service(fixture.service(), fixture.name());
  }
}
