package dev.protomatch.testing;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * A certificate authority made for one test run with {@code openssl} (on the PATH; CI installs it): a server
 * certificate for {@code 127.0.0.1}/{@code localhost}, and client certificates with the subject alternative
 * names a test asks for.
 */
public final class TestPki {
  private final Path dir;

  private TestPki(Path dir) {
    this.dir = dir;
  }

  /** A new CA in {@code dir}, with a server certificate ({@link #serverCert()}, {@link #serverKey()}). */
  public static TestPki create(Path dir) throws IOException {
    TestPki pki = new TestPki(dir);
    pki.openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", "/CN=protomatch-test-ca",
        "-keyout", "ca.key", "-out", "ca.pem");
    pki.issue("server", "IP:127.0.0.1,DNS:localhost");
    return pki;
  }

  /**
   * A client certificate and key signed by this CA, with {@code subjectAltNames} in openssl's form
   * ({@code URI:spiffe://example.org/a,DNS:a.example.org}); returns the certificate, the key is beside it
   * ({@link #keyOf}).
   */
  public Path client(String name, String subjectAltNames) throws IOException {
    return issue(name, subjectAltNames);
  }

  public Path ca() {
    return dir.resolve("ca.pem");
  }

  public Path serverCert() {
    return dir.resolve("server.pem");
  }

  public Path serverKey() {
    return dir.resolve("server.key");
  }

  public Path keyOf(Path certificate) {
    return dir.resolve(certificate.getFileName().toString().replace(".pem", ".key"));
  }

  private Path issue(String name, String subjectAltNames) throws IOException {
    Files.writeString(dir.resolve(name + ".cnf"), "subjectAltName=" + subjectAltNames + "\n");
    openssl("req", "-newkey", "rsa:2048", "-nodes", "-subj", "/CN=" + name, "-keyout", name + ".key",
        "-out", name + ".csr");
    openssl("x509", "-req", "-in", name + ".csr", "-CA", "ca.pem", "-CAkey", "ca.key", "-CAcreateserial", "-days", "2",
        "-extfile", name + ".cnf", "-out", name + ".pem");
    // grpc-java's TLS key manager wants PKCS#8 keys; openssl 3 writes them already, older versions may not.
    openssl("pkcs8", "-topk8", "-nocrypt", "-in", name + ".key", "-out", name + ".pk8");
    Files.move(dir.resolve(name + ".pk8"), dir.resolve(name + ".key"), java.nio.file.StandardCopyOption.REPLACE_EXISTING);
    return dir.resolve(name + ".pem");
  }

  private void openssl(String... arguments) throws IOException {
    openssl(dir, arguments);
  }

  /** Runs {@code openssl} with {@code arguments} in {@code dir}; fails with its output if it fails. */
  public static void openssl(Path dir, String... arguments) throws IOException {
    List<String> command = new ArrayList<>(List.of("openssl"));
    command.addAll(List.of(arguments));
    Process process = new ProcessBuilder(command).directory(dir.toFile()).redirectErrorStream(true).start();
    try {
      String output = new String(process.getInputStream().readAllBytes());
      if (process.waitFor() != 0) {
        throw new IllegalStateException(String.join(" ", command) + " failed:\n" + output);
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException("interrupted running openssl", e);
    }
  }
}
