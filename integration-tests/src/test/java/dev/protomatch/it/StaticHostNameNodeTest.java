package dev.protomatch.it;

import static org.assertj.core.api.Assertions.assertThat;

import dev.protomatch.decision.RoutableEndpoint;
import dev.protomatch.demo.ProtomatchProcess;
import dev.protomatch.registry.EndpointAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * A static endpoint written as a host name ({@code localhost:PORT}, as docs/policies.md allows) with the
 * grpc-js xDS client, which accepts only IP addresses in an assignment and rejects the whole assignment
 * otherwise ("address is not a valid IPv4 or IPv6 address"). The Greeter is a real process that does not
 * register; protomatch learns it from the policy file alone. Every call must succeed, and protomatch must
 * have received no NACK from the client (counted by the {@code XdsClientTracker} listener that also feeds
 * /v1/clients and /metrics).
 */
class StaticHostNameNodeTest {
  private static final int CALLS = 200;
  private static final String NODE_ID = "it-grpc-js-static-host-name";
  private static final Duration WARMUP = Duration.ofSeconds(30);

  private static NodeClient node;
  private static ProtomatchProcess greeter;
  private static Fleet fleet;

  @BeforeAll
  static void start() throws Exception {
    node = NodeClient.installed();
    Path log = Files.createTempFile("protomatch-it-static-greeter-", ".log");
    greeter = ProtomatchProcess.startServer(List.of("greeter", "--build", "v2", "--instance", "static-by-name"),
        Map.of(), log, Duration.ofSeconds(60));
    fleet = Fleet.start(Fleet.POLICY + """
            static-endpoints:
              - localhost:%d
        """.formatted(greeter.port()));
    fleet.awaitGreeterDecision(d -> d.included().size() == 1, Duration.ofSeconds(30));
  }

  @AfterAll
  static void stop() {
    if (fleet != null) {
      fleet.close();
    }
    if (greeter != null) {
      greeter.close();
    }
  }

  @Test
  void callsThroughAHostNameStaticEndpointSucceedWithoutANack() throws Exception {
    AtomicLong nacks = new AtomicLong();
    List<String> nackErrors = new CopyOnWriteArrayList<>();
    fleet.controlPlane().clients().addNackListener(nack -> {
      if (nack.nodeId().equals(NODE_ID)) {
        if (nacks.incrementAndGet() == 1) {
          nackErrors.add(nack.typeUrl() + ": " + nack.nack().errorDetail());
        }
      }
    });

    NodeClient.Counts counts = null;
    try {
      counts = node.alternate(fleet.bootstrapFile(NODE_ID), "xds:///demo-greeter", CALLS, WARMUP);
    } finally {
      Reports.append("static-host-name", "grpc-js-xds through static endpoint localhost:" + greeter.port() + ": "
          + (counts == null ? "client failed" : counts) + "; NACKs received by protomatch: " + nacks.get()
          + (nackErrors.isEmpty() ? "" : " (first: " + nackErrors.get(0) + ")"));
    }

    assertThat(counts.count("OK")).as(counts.toString()).isEqualTo(CALLS);
    assertThat(nacks.get()).as("NACKs from %s, first: %s", NODE_ID, nackErrors).isZero();
    assertThat(fleet.controlPlane().updater().updateNow().services().get("demo.Greeter").included())
        .extracting(RoutableEndpoint::address).containsExactly(new EndpointAddress("127.0.0.1", greeter.port()));
  }
}
