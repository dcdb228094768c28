package dev.protomatch.it;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The field report with grpc-js and its xDS resolver ({@code @grpc/grpc-js-xds}): the same fleet as
 * {@link FieldScenarioGrpcJavaTest} (an old v1 Greeter beside two v2 Greeters, all real registered
 * processes), and a Node process ({@code integration-tests/node-client/alternate.js}) alternating SayHello
 * and SayHelloAgain through {@code xds:///demo-greeter} (see {@link NodeClient}), once through protomatch, once
 * through {@link Unfiltered}.
 */
class FieldScenarioNodeTest {
  private static final int CALLS = 1000;
  private static final String TARGET = "xds:///demo-greeter";
  private static final Duration WARMUP = Duration.ofSeconds(30);

  private static NodeClient node;
  private static Fleet fleet;

  @BeforeAll
  static void startFleet() throws Exception {
    node = NodeClient.installed();

    fleet = Fleet.start();
    fleet.startGreeter("v1", "old-v1");
    fleet.startGreeter("v2", "new-v2-a");
    fleet.startGreeter("v2", "new-v2-b");
    fleet.awaitGreeterDecision(d -> d.included().size() == 2 && d.excluded().size() == 1, Duration.ofSeconds(30));
  }

  @AfterAll
  static void stopFleet() {
    if (fleet != null) {
      fleet.close();
    }
  }

  @Test
  void withProtomatchNoCallIsAnsweredUnimplemented() throws Exception {
    NodeClient.Counts counts = node.alternate(fleet.bootstrapFile("it-grpc-js-filtered"), TARGET, CALLS, WARMUP);
    Reports.append("field-scenario", "grpc-js-xds, protomatch: " + counts);

    assertThat(counts.count("UNIMPLEMENTED")).as(counts.toString()).isZero();
    assertThat(counts.count("OK")).as(counts.toString()).isEqualTo(CALLS);
  }

  @Test
  void withoutFilteringTheSameHarnessCountsUnimplemented() throws Exception {
    try (Unfiltered unfiltered = Unfiltered.start()) {
      unfiltered.publish(fleet.controlPlane().updater().updateNow(), fleet.controlPlane().registry().state());
      Path bootstrap = Files.writeString(fleet.workDirectory().resolve("bootstrap-it-grpc-js-unfiltered.json"), """
          {"xds_servers": [{"server_uri": "127.0.0.1:%d", "channel_creds": [{"type": "insecure"}],
            "server_features": ["xds_v3"]}],
           "node": {"id": "it-grpc-js-unfiltered", "cluster": "protomatch-it", "locality": {}}}
          """.formatted(unfiltered.port()));
      NodeClient.Counts counts = node.alternate(bootstrap, TARGET, CALLS, WARMUP);
      Reports.append("field-scenario", "grpc-js-xds, unfiltered: " + counts);

      assertThat(counts.count("UNIMPLEMENTED")).as(counts.toString()).isGreaterThan(0);
    }
  }
}
