package dev.protomatch.cli;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.protomatch.demo.ProtomatchProcess;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code protomatch greeter --register} to a port where no control plane listens, as a process: the greeter serves
 * and keeps retrying (the agent's contract), and its log (stderr) says so one line per attempt, no stack trace.
 */
class GreeterUnreachableControlPlaneTest {
  @TempDir
  Path dir;

  @Test
  void eachRetryIsOneLogLine() throws Exception {
    int closedPort;
    try (ServerSocket socket = new ServerSocket(0)) {
      closedPort = socket.getLocalPort();
    }
    Path log = dir.resolve("greeter.log");
    try (ProtomatchProcess greeter = ProtomatchProcess.startServer(
        List.of("greeter", "--build", "v1", "--register", "127.0.0.1:" + closedPort), Map.of(), log,
        Duration.ofSeconds(60))) {
      await().atMost(Duration.ofSeconds(30))
          .until(() -> Files.readString(log).lines().filter(line -> line.contains("will retry")).count() >= 2);
      assertThat(greeter.isAlive()).isTrue();
    }

    assertThat(Files.readString(log).lines()).isNotEmpty().allSatisfy(line -> assertThat(line)
        .contains("WARN  [RegistrationAgent] registration with 127.0.0.1:" + closedPort + " failed: UNAVAILABLE: ")
        .endsWith("; will retry in 1 s"));
  }
}
