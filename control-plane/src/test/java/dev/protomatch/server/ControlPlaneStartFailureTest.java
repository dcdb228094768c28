package dev.protomatch.server;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.util.Map;
import java.util.Optional;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** A start that fails part-way stops everything it had started: no port, no thread is left behind. */
class ControlPlaneStartFailureTest {
  @TempDir
  Path dir;

  @Test
  void aRegistrationPortInUseStopsTheAdminAndXdsServersAlreadyStarted() throws Exception {
    int xds = freePort();
    int admin = freePort();
    try (ServerSocket taken = new ServerSocket(0, 50, InetAddress.getLoopbackAddress())) {
      assertThatThrownBy(() -> start(Optional.empty(), xds, taken.getLocalPort(), admin))
          .isInstanceOf(ListenFailedException.class)
          .hasMessage("cannot listen on 127.0.0.1:" + taken.getLocalPort()
              + " (registration port): Address already in use");
    }

    assertThat(canBind(xds)).as("xDS port %d released", xds).isTrue();
    assertThat(canBind(admin)).as("admin port %d released", admin).isTrue();
    assertThat(controlThreads()).as("scheduler threads left running").isZero();
  }

  @Test
  void anInvalidPolicyFileStopsTheAdminServerAlreadyStarted() throws Exception {
    Path file = Files.writeString(dir.resolve("policies.yaml"), "services: 42\n");
    int admin = freePort();

    assertThatThrownBy(() -> start(Optional.of(file), 0, 0, admin))
        .isInstanceOf(ControlPlane.InvalidPolicyException.class);

    assertThat(canBind(admin)).as("admin port %d released", admin).isTrue();
    assertThat(controlThreads()).as("scheduler threads left running").isZero();
  }

  @Test
  void aStartedControlPlaneReleasesEveryPortWhenClosed() throws Exception {
    int xds = freePort();
    int registration = freePort();
    int admin = freePort();

    start(Optional.empty(), xds, registration, admin).close();

    assertThat(canBind(xds)).isTrue();
    assertThat(canBind(registration)).isTrue();
    assertThat(canBind(admin)).isTrue();
  }

  private static ControlPlane start(Optional<Path> policy, int xds, int registration, int admin) throws Exception {
    return ControlPlane.start(ControlPlaneOptions.loopbackDefaults(policy).withPorts(xds, registration, admin),
        Clock.systemUTC(), Map.<String, String>of()::get);
  }

  private static int freePort() throws IOException {
    try (ServerSocket socket = new ServerSocket(0, 50, InetAddress.getLoopbackAddress())) {
      return socket.getLocalPort();
    }
  }

  private static boolean canBind(int port) {
    try (ServerSocket socket = new ServerSocket(port, 50, InetAddress.getLoopbackAddress())) {
      return true;
    } catch (IOException e) {
      return false;
    }
  }

  /** Scheduler threads still alive (shutdownNow interrupts them; give them a moment to end). */
  private static long controlThreads() throws InterruptedException {
    for (int i = 0; i < 50; i++) {
      long alive = Thread.getAllStackTraces().keySet().stream()
          .filter(t -> t.getName().equals("protomatch-control") && t.isAlive()).count();
      if (alive == 0) {
        return 0;
      }
      Thread.sleep(20);
    }
    return Thread.getAllStackTraces().keySet().stream()
        .filter(t -> t.getName().equals("protomatch-control") && t.isAlive()).count();
  }
}
