package dev.protomatch.xds;

import static org.assertj.core.api.Assertions.assertThat;

import ch.qos.logback.classic.Level;
import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.read.ListAppender;
import dev.protomatch.testing.TestClock;
import dev.protomatch.util.ClientText;
import io.envoyproxy.envoy.config.core.v3.Node;
import io.envoyproxy.envoy.service.discovery.v3.DeltaDiscoveryRequest;
import io.envoyproxy.envoy.service.discovery.v3.DeltaDiscoveryResponse;
import io.envoyproxy.envoy.service.discovery.v3.DiscoveryRequest;
import io.envoyproxy.envoy.service.discovery.v3.DiscoveryResponse;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.junit.jupiter.api.Test;
import org.slf4j.LoggerFactory;

/**
 * The tracker's ACK and NACK announcements, driven through java-control-plane's callbacks with a test
 * clock: which ACKs are new, and how long the client took to accept a version.
 */
class XdsClientTrackerTest {
  private static final String EDS = XdsType.EDS.typeUrl();
  private static final Node NODE = Node.newBuilder().setId("client-1").setUserAgentName("grpc-java").build();

  private final TestClock clock = TestClock.atEpochPlusOneDay();
  private final XdsClientTracker tracker = new XdsClientTracker(clock);
  private final List<XdsClientTracker.AckEvent> acks = new ArrayList<>();
  private final List<XdsClientTracker.NackEvent> nacks = new ArrayList<>();

  XdsClientTrackerTest() {
    tracker.addAckListener(acks::add);
    tracker.addNackListener(nacks::add);
    tracker.onStreamOpen(1, "");
  }

  @Test
  void ackLatencyRunsFromPublicationToAck() {
    request(null, "", "");
    clock.advance(Duration.ofSeconds(5));
    publishEds(1);
    respond("n1", "1");
    clock.advance(Duration.ofMillis(40));

    request(null, "1", "n1");

    assertThat(acks).singleElement().satisfies(ack -> {
      assertThat(ack.nodeId()).isEqualTo("client-1");
      assertThat(ack.kind()).isEqualTo(NodeKind.PROXYLESS);
      assertThat(ack.typeUrl()).isEqualTo(EDS);
      assertThat(ack.version()).isEqualTo("1");
      assertThat(ack.latency()).contains(Duration.ofMillis(40));
    });
  }

  @Test
  void aClientThatAsksAfterThePublicationIsTimedFromItsRequest() {
    publishEds(1);
    clock.advance(Duration.ofMinutes(10));
    request(null, "", "");
    respond("n1", "1");
    clock.advance(Duration.ofMillis(25));

    request(null, "1", "n1");

    assertThat(acks).singleElement().extracting(XdsClientTracker.AckEvent::latency)
        .isEqualTo(Optional.of(Duration.ofMillis(25)));
  }

  @Test
  void withoutAKnownPublicationTheLatencyRunsFromTheResponse() {
    request(null, "", "");
    clock.advance(Duration.ofSeconds(1));
    respond("n1", "7");
    clock.advance(Duration.ofMillis(15));

    request(null, "7", "n1");

    assertThat(acks).singleElement().extracting(XdsClientTracker.AckEvent::latency)
        .isEqualTo(Optional.of(Duration.ofMillis(15)));
  }

  @Test
  void aRepeatedAckOfTheSameVersionIsNotAnnouncedAgain() {
    request(null, "", "");
    publishEds(1);
    respond("n1", "1");
    request(null, "1", "n1");
    respond("n2", "1");

    request(null, "1", "n2");

    assertThat(acks).hasSize(1);
  }

  @Test
  void aNackIsAnnouncedWithItsTypeAndTheRejectedVersion() {
    request(null, "", "");
    publishEds(1);
    respond("n1", "1");

    tracker.onV3StreamRequest(1, DiscoveryRequest.newBuilder().setTypeUrl(EDS).setResponseNonce("n1")
        .setErrorDetail(com.google.rpc.Status.newBuilder().setMessage("bad endpoints")).build());

    assertThat(acks).isEmpty();
    assertThat(nacks).singleElement().satisfies(nack -> {
      assertThat(nack.typeUrl()).isEqualTo(EDS);
      assertThat(nack.kind()).isEqualTo(NodeKind.PROXYLESS);
      assertThat(nack.nack().version()).isEqualTo("1");
      assertThat(nack.nack().errorDetail()).isEqualTo("bad endpoints");
    });
  }

  @Test
  void aNackRepeatedByTheSameClientIsAnnouncedEachTimeButLoggedOnce() {
    ListAppender<ILoggingEvent> logged = new ListAppender<>();
    Logger trackerLog = (Logger) LoggerFactory.getLogger(XdsClientTracker.class);
    logged.start();
    trackerLog.addAppender(logged);
    try {
      request(null, "", "");
      for (int i = 1; i <= 3; i++) {
        respond("n" + i, "v-bad");
        nack("n" + i, "bad endpoints");
      }
      tracker.onStreamOpen(2, ""); // the same client on a new stream is the same client
      tracker.onV3StreamRequest(2, DiscoveryRequest.newBuilder().setNode(NODE).setTypeUrl(EDS).build());
      tracker.onV3StreamResponse(2, DiscoveryRequest.getDefaultInstance(),
          DiscoveryResponse.newBuilder().setTypeUrl(EDS).setNonce("m1").setVersionInfo("v-bad").build());
      tracker.onV3StreamRequest(2, DiscoveryRequest.newBuilder().setTypeUrl(EDS).setResponseNonce("m1")
          .setErrorDetail(com.google.rpc.Status.newBuilder().setMessage("bad endpoints")).build());
      respond("n4", "v-worse");
      nack("n4", "worse endpoints");

      assertThat(nacks).hasSize(5);
      assertThat(logged.list).filteredOn(e -> e.getLevel() == Level.WARN).extracting(ILoggingEvent::getFormattedMessage)
          .satisfiesExactly(
              line -> assertThat(line).contains("node 'client-1'", "version 'v-bad'", "bad endpoints"),
              line -> assertThat(line).contains("node 'client-1'", "version 'v-worse'", "worse endpoints"));
    } finally {
      trackerLog.detachAppender(logged);
    }
  }

  @Test
  void aHostileNackIsKeptCutAndEscapedInTheEventTheLogAndTheViews() {
    ListAppender<ILoggingEvent> logged = new ListAppender<>();
    Logger trackerLog = (Logger) LoggerFactory.getLogger(XdsClientTracker.class);
    logged.start();
    trackerLog.addAppender(logged);
    try {
      Node hostile = Node.newBuilder().setId("evil\n2026-11-26 INFO forged line" + "x".repeat(1_000))
          .setUserAgentName("grpc-java").build();
      request(hostile, "", "");
      respond("n1", "1");
      nack("n1", "\u001b[2J" + "e".repeat(100_000));

      String detail = nacks.get(0).nack().errorDetail();
      assertThat(detail).startsWith("\\u001b[2Jeee").endsWith(" … (98985 more characters)")
          .hasSizeLessThan(ClientText.MAX_ERROR_DETAIL + 40).doesNotContain("\u001b");
      assertThat(tracker.clients()).singleElement().satisfies(status -> {
        assertThat(status.nodeId()).startsWith("evil\\u000a2026-11-26 INFO forged line").doesNotContain("\n")
            .hasSizeLessThan(ClientText.MAX_NODE_FIELD + 40);
        assertThat(status.types().get(EDS).lastNack()).map(XdsClientStatus.Nack::errorDetail).contains(detail);
      });
      assertThat(logged.list).filteredOn(e -> e.getLevel() == Level.WARN).singleElement()
          .extracting(ILoggingEvent::getFormattedMessage)
          .satisfies(line -> assertThat(line).doesNotContain("\n", "\u001b").hasSizeLessThan(2_000));
    } finally {
      trackerLog.detachAppender(logged);
    }
  }

  @Test
  void deltaAcksAreTimedTheSameWay() {
    tracker.onV3StreamDeltaRequest(1, DeltaDiscoveryRequest.newBuilder().setNode(NODE).setTypeUrl(EDS).build());
    publishEds(1);
    tracker.onV3StreamDeltaResponse(1, DeltaDiscoveryRequest.getDefaultInstance(),
        DeltaDiscoveryResponse.newBuilder().setTypeUrl(EDS).setNonce("d1").setSystemVersionInfo("1").build());
    clock.advance(Duration.ofMillis(30));

    tracker.onV3StreamDeltaRequest(1,
        DeltaDiscoveryRequest.newBuilder().setTypeUrl(EDS).setResponseNonce("d1").build());

    assertThat(acks).singleElement().satisfies(ack -> {
      assertThat(ack.version()).isEqualTo("1");
      assertThat(ack.latency()).contains(Duration.ofMillis(30));
    });
  }

  private void publishEds(long version) {
    tracker.published(new SnapshotPublisher.Publication(NodeKind.PROXYLESS, Map.of(XdsType.EDS, Long.toString(version)),
        Map.of(XdsType.EDS, Long.toString(version))));
  }

  private void request(Node node, String version, String nonce) {
    DiscoveryRequest.Builder request = DiscoveryRequest.newBuilder().setTypeUrl(EDS).setVersionInfo(version)
        .setResponseNonce(nonce).setNode(node == null ? NODE : node);
    tracker.onV3StreamRequest(1, request.build());
  }

  private void nack(String nonce, String message) {
    tracker.onV3StreamRequest(1, DiscoveryRequest.newBuilder().setTypeUrl(EDS).setResponseNonce(nonce)
        .setErrorDetail(com.google.rpc.Status.newBuilder().setMessage(message)).build());
  }

  private void respond(String nonce, String version) {
    tracker.onV3StreamResponse(1, DiscoveryRequest.getDefaultInstance(),
        DiscoveryResponse.newBuilder().setTypeUrl(EDS).setNonce(nonce).setVersionInfo(version).build());
  }
}
