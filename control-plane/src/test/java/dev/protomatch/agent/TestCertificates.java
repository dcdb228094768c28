package dev.protomatch.agent;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * Certificates made for one test run in {@code dir} by {@code openssl} (on the PATH), P-256 keys in PKCS#8:
 * {@code ca.pem} issued {@code server.pem} (for IP 127.0.0.1, key {@code server.key}) and {@code client.pem}
 * ({@code client.key}); {@code other-ca.pem} is a CA that issued neither.
 */
record TestCertificates(Path dir) {
  static TestCertificates make(Path dir) {
    TestCertificates certificates = new TestCertificates(dir);
    try {
      Files.writeString(dir.resolve("san.cnf"), "subjectAltName=IP:127.0.0.1\n");
      certificates.ca("ca");
      certificates.ca("other-ca");
      certificates.issue("server", "127.0.0.1", List.of("-extfile", "san.cnf"));
      certificates.issue("client", "protomatch-test-agent", List.of());
    } catch (IOException e) {
      throw new UncheckedIOException("cannot make test certificates", e);
    }
    return certificates;
  }

  Path ca() {
    return dir.resolve("ca.pem");
  }

  Path otherCa() {
    return dir.resolve("other-ca.pem");
  }

  Path serverChain() {
    return dir.resolve("server.pem");
  }

  Path serverKey() {
    return dir.resolve("server.key");
  }

  Path clientChain() {
    return dir.resolve("client.pem");
  }

  Path clientKey() {
    return dir.resolve("client.key");
  }

  /** Runs {@code openssl} with these arguments in {@code dir}. */
  void openssl(String... arguments) throws IOException {
    dev.protomatch.testing.TestPki.openssl(dir, arguments);
  }

  private void ca(String name) throws IOException {
    openssl("req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-days", "2",
        "-subj", "/CN=protomatch-test-" + name, "-keyout", name + ".key", "-out", name + ".pem");
  }

  private void issue(String name, String commonName, List<String> extensions) throws IOException {
    openssl("req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-subj", "/CN=" + commonName,
        "-keyout", name + ".key", "-out", name + ".csr");
    List<String> sign = new ArrayList<>(List.of("x509", "-req", "-in", name + ".csr", "-CA", "ca.pem", "-CAkey",
        "ca.key", "-CAcreateserial", "-days", "2", "-out", name + ".pem"));
    sign.addAll(extensions);
    openssl(sign.toArray(String[]::new));
  }
}
