package dev.protomatch.agent;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.grpc.TlsChannelCredentials;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Optional;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@link RegistrationTls#credentials()}: good files load; each bad one is one line naming that file. */
class RegistrationTlsTest {
  @TempDir
  static Path dir;
  private static TestCertificates certificates;

  @BeforeAll
  static void makeCertificates() throws Exception {
    certificates = TestCertificates.make(dir);
    // The same client key in the traditional ("BEGIN EC PRIVATE KEY") form, and the certificate in DER.
    certificates.openssl("ec", "-in", "client.key", "-out", "client-traditional.key");
    certificates.openssl("x509", "-in", "ca.pem", "-outform", "DER", "-out", "ca.der");
  }

  @Test
  void caAndClientCertificateLoad() {
    assertThat(RegistrationTls.trusting(certificates.ca())
        .withClientCertificate(certificates.clientChain(), certificates.clientKey()).credentials())
        .isInstanceOf(TlsChannelCredentials.class);
  }

  @Test
  void missingCa() {
    assertRefused(RegistrationTls.trusting(dir.resolve("nope.pem")),
        "cannot read CA file '" + dir.resolve("nope.pem") + "': no such file");
  }

  @Test
  void caThatIsADirectory() {
    assertRefused(RegistrationTls.trusting(dir), "cannot read CA file '" + dir + "': it is a directory");
  }

  @Test
  void caInDerRatherThanPem() {
    assertRefused(RegistrationTls.trusting(dir.resolve("ca.der")),
        "CA file '" + dir.resolve("ca.der") + "' holds no PEM certificate (-----BEGIN CERTIFICATE-----)");
  }

  @Test
  void caWithACorruptCertificate() throws Exception {
    Path corrupt = Files.writeString(dir.resolve("corrupt.pem"),
        "-----BEGIN CERTIFICATE-----\nbm90IGEgY2VydGlmaWNhdGU=\n-----END CERTIFICATE-----\n");

    assertThatThrownBy(() -> RegistrationTls.trusting(corrupt).credentials())
        .isInstanceOf(TlsFileException.class)
        .hasMessageStartingWith("CA file '" + corrupt + "' is not a valid PEM certificate: ")
        .hasMessageNotContaining("\n");
  }

  @Test
  void clientCertificateThatIsAKey() {
    assertRefused(RegistrationTls.trusting(certificates.ca())
            .withClientCertificate(certificates.clientKey(), certificates.clientKey()),
        "client certificate '" + certificates.clientKey() + "' holds no PEM certificate (-----BEGIN CERTIFICATE-----)");
  }

  @Test
  void clientKeyThatIsACertificate() {
    assertRefused(RegistrationTls.trusting(certificates.ca())
            .withClientCertificate(certificates.clientChain(), certificates.clientChain()),
        "client key '" + certificates.clientChain() + "' holds no PEM private key; expected an unencrypted PKCS#8 key"
            + " (-----BEGIN PRIVATE KEY-----, e.g. from openssl pkcs8 -topk8 -nocrypt)");
  }

  @Test
  void clientKeyInTraditionalForm() {
    Path traditional = dir.resolve("client-traditional.key");

    assertRefused(RegistrationTls.trusting(certificates.ca())
            .withClientCertificate(certificates.clientChain(), traditional),
        "client key '" + traditional + "' holds '-----BEGIN EC PRIVATE KEY-----'; expected an unencrypted PKCS#8 key"
            + " (-----BEGIN PRIVATE KEY-----, e.g. from openssl pkcs8 -topk8 -nocrypt)");
  }

  @Test
  void clientKeyOfAnotherCertificate() {
    assertRefused(new RegistrationTls(Optional.empty(), Optional.empty())
            .withClientCertificate(certificates.clientChain(), certificates.serverKey()),
        "client key '" + certificates.serverKey() + "' does not belong to the first certificate in '"
            + certificates.clientChain() + "'");
  }

  @Test
  void missingClientKey() {
    assertRefused(RegistrationTls.trusting(certificates.ca())
            .withClientCertificate(certificates.clientChain(), dir.resolve("absent.key")),
        "cannot read client key '" + dir.resolve("absent.key") + "': no such file");
  }

  private static void assertRefused(RegistrationTls tls, String message) {
    assertThatThrownBy(tls::credentials).isInstanceOf(TlsFileException.class).hasMessage(message)
        .hasNoCause();
  }
}
