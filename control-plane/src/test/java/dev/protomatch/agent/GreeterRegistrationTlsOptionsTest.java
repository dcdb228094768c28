package dev.protomatch.agent;

import static org.assertj.core.api.Assertions.assertThat;

import dev.protomatch.cli.Main;
import io.grpc.Server;
import io.grpc.TlsServerCredentials;
import io.grpc.netty.shaded.io.grpc.netty.NettyServerBuilder;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.net.InetSocketAddress;
import java.nio.file.Path;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

/**
 * {@code protomatch greeter --register ... --registration-ca/--registration-cert/--registration-key}, run in-process:
 * bad files and a refused handshake end the command with exit code 2 and one line on stderr.
 */
class GreeterRegistrationTlsOptionsTest {
  @TempDir
  static Path dir;
  private static TestCertificates certificates;

  private final StringWriter err = new StringWriter();
  private Server server;

  @BeforeAll
  static void makeCertificates() {
    certificates = TestCertificates.make(dir);
  }

  @AfterEach
  void stop() {
    if (server != null) {
      server.shutdownNow();
    }
  }

  @Test
  void missingCaIsOneLine() {
    int exit = greeter("--register", "127.0.0.1:1", "--registration-ca", dir.resolve("nope.pem").toString());

    assertThat(exit).isEqualTo(Main.EXIT_USER_ERROR);
    assertThat(err.toString())
        .isEqualTo("protomatch greeter: cannot read CA file '" + dir.resolve("nope.pem") + "': no such file\n");
  }

  @Test
  void certificateWithoutKeyIsOneLine() {
    int exit = greeter("--register", "127.0.0.1:1", "--registration-cert", certificates.clientChain().toString());

    assertThat(exit).isEqualTo(Main.EXIT_USER_ERROR);
    assertThat(err.toString())
        .isEqualTo("protomatch greeter: --registration-cert and --registration-key go together\n");
  }

  @Test
  void controlPlaneCertificateFromAnotherCaIsOneLine() throws Exception {
    server = NettyServerBuilder.forAddress(new InetSocketAddress("127.0.0.1", 0), TlsServerCredentials.newBuilder()
            .keyManager(certificates.serverChain().toFile(), certificates.serverKey().toFile()).build())
        .build().start();

    int exit = greeter("--register", "127.0.0.1:" + server.getPort(),
        "--registration-ca", certificates.otherCa().toString());

    assertThat(exit).isEqualTo(Main.EXIT_USER_ERROR);
    assertThat(err.toString())
        .startsWith("protomatch greeter: --register 127.0.0.1:" + server.getPort() + ": cannot register:"
            + " UNAVAILABLE: TLS handshake with 127.0.0.1:" + server.getPort() + " failed: ")
        .containsOnlyOnce("\n");
  }

  private int greeter(String... options) {
    CommandLine commandLine = Main.commandLine();
    commandLine.setErr(new PrintWriter(err, true));
    String[] arguments = new String[options.length + 2];
    arguments[0] = "greeter";
    arguments[1] = "--build=v1";
    System.arraycopy(options, 0, arguments, 2, options.length);
    return commandLine.execute(arguments);
  }
}
