package dev.protomatch.agent;

import io.grpc.ChannelCredentials;
import io.grpc.TlsChannelCredentials;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.AccessDeniedException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.security.KeyFactory;
import java.security.PrivateKey;
import java.security.Signature;
import java.security.cert.CertificateException;
import java.security.cert.CertificateFactory;
import java.security.cert.X509Certificate;
import java.security.spec.PKCS8EncodedKeySpec;
import java.util.Base64;
import java.util.List;
import java.util.Optional;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * How a {@link RegistrationAgent} reaches a control plane that serves registration over TLS
 * ({@code serve --tls-cert/--tls-key}) or mTLS ({@code --tls-client-ca} as well).
 *
 * <p>{@code trustedCa}: PEM certificates of the CA(s) that issued the control plane's certificate; empty trusts the
 * JDK's default roots. {@code clientCertificate}: the agent's own certificate chain and unencrypted PKCS#8 private key
 * (PEM), presented when the control plane requires client certificates. The control plane's certificate must name
 * the host of the agent's target (an IP address target needs an IP subject alternative name).
 *
 * <p>{@link #credentials()} reads the files once; a file that is missing, unreadable, not PEM, or a key that does not
 * belong to its certificate is reported as one {@link TlsFileException} naming the file. Certificates are not
 * reloaded: a rotated certificate takes a new agent.
 */
public record RegistrationTls(Optional<Path> trustedCa, Optional<ClientCertificate> clientCertificate) {
  /** The agent's certificate chain and its private key, both PEM files. */
  public record ClientCertificate(Path chain, Path privateKey) {}

  private static final Pattern PRIVATE_KEY = Pattern.compile(
      "-----BEGIN PRIVATE KEY-----([A-Za-z0-9+/=\\s]+)-----END PRIVATE KEY-----");
  private static final Pattern OTHER_KEY = Pattern.compile("-----BEGIN ([A-Z ]*)PRIVATE KEY-----");

  /** TLS trusting {@code ca} for the control plane's certificate, no client certificate. */
  public static RegistrationTls trusting(Path ca) {
    return new RegistrationTls(Optional.of(ca), Optional.empty());
  }

  /** The same, presenting {@code chain} (with {@code privateKey}) to a control plane that requires client certificates. */
  public RegistrationTls withClientCertificate(Path chain, Path privateKey) {
    return new RegistrationTls(trustedCa, Optional.of(new ClientCertificate(chain, privateKey)));
  }

  /** Reads and checks the files; the channel credentials for {@link RegistrationAgent}. */
  public ChannelCredentials credentials() {
    TlsChannelCredentials.Builder builder = TlsChannelCredentials.newBuilder();
    if (trustedCa.isPresent()) {
      byte[] ca = read(trustedCa.get(), "CA file");
      certificates(ca, trustedCa.get(), "CA file");
      try {
        builder.trustManager(new ByteArrayInputStream(ca));
      } catch (IOException e) {
        throw new TlsFileException("cannot use CA file '" + trustedCa.get() + "': " + e.getMessage());
      }
    }
    if (clientCertificate.isPresent()) {
      Path chainFile = clientCertificate.get().chain();
      Path keyFile = clientCertificate.get().privateKey();
      byte[] chain = read(chainFile, "client certificate");
      byte[] key = read(keyFile, "client key");
      X509Certificate leaf = certificates(chain, chainFile, "client certificate").get(0);
      PrivateKey privateKey = privateKey(key, keyFile, leaf.getPublicKey().getAlgorithm());
      checkPair(leaf, privateKey, chainFile, keyFile);
      try {
        builder.keyManager(new ByteArrayInputStream(chain), new ByteArrayInputStream(key));
      } catch (IOException e) {
        throw new TlsFileException("cannot use client certificate '" + chainFile + "' with key '" + keyFile + "': "
            + e.getMessage());
      }
    }
    return builder.build();
  }

  private static byte[] read(Path path, String what) {
    if (Files.isDirectory(path)) {
      throw new TlsFileException("cannot read " + what + " '" + path + "': it is a directory");
    }
    try {
      return Files.readAllBytes(path);
    } catch (NoSuchFileException e) {
      throw new TlsFileException("cannot read " + what + " '" + path + "': no such file");
    } catch (AccessDeniedException e) {
      throw new TlsFileException("cannot read " + what + " '" + path + "': permission denied");
    } catch (IOException e) {
      throw new TlsFileException("cannot read " + what + " '" + path + "': " + e.getMessage());
    }
  }

  /** The PEM certificates in {@code pem}, at least one; DER or other text is refused (gRPC reads PEM only). */
  private static List<X509Certificate> certificates(byte[] pem, Path path, String what) {
    String text = new String(pem, StandardCharsets.US_ASCII);
    if (!text.contains("-----BEGIN CERTIFICATE-----")) {
      throw new TlsFileException(what + " '" + path + "' holds no PEM certificate (-----BEGIN CERTIFICATE-----)");
    }
    try {
      List<X509Certificate> certificates = CertificateFactory.getInstance("X.509")
          .generateCertificates(new ByteArrayInputStream(pem)).stream().map(X509Certificate.class::cast).toList();
      if (certificates.isEmpty()) {
        throw new TlsFileException(what + " '" + path + "' holds no PEM certificate (-----BEGIN CERTIFICATE-----)");
      }
      return certificates;
    } catch (CertificateException e) {
      throw new TlsFileException(what + " '" + path + "' is not a valid PEM certificate: " + e.getMessage());
    }
  }

  /** An unencrypted PKCS#8 key, the form gRPC's Netty transport reads without Bouncy Castle. */
  private static PrivateKey privateKey(byte[] pem, Path path, String algorithm) {
    String text = new String(pem, StandardCharsets.US_ASCII);
    Matcher matcher = PRIVATE_KEY.matcher(text);
    if (!matcher.find()) {
      Matcher other = OTHER_KEY.matcher(text);
      String found = other.find() ? "'-----BEGIN " + other.group(1) + "PRIVATE KEY-----'" : "no PEM private key";
      throw new TlsFileException("client key '" + path + "' holds " + found + "; expected an unencrypted PKCS#8 key"
          + " (-----BEGIN PRIVATE KEY-----, e.g. from openssl pkcs8 -topk8 -nocrypt)");
    }
    try {
      byte[] der = Base64.getMimeDecoder().decode(matcher.group(1));
      return KeyFactory.getInstance(algorithm).generatePrivate(new PKCS8EncodedKeySpec(der));
    } catch (IllegalArgumentException | GeneralSecurityException e) {
      throw new TlsFileException("client key '" + path + "' is not a valid " + algorithm
          + " PKCS#8 private key (the client certificate's key type): " + e.getMessage());
    }
  }

  /** Signs with the key and verifies with the certificate: a key from another pair fails here, not in a handshake. */
  private static void checkPair(X509Certificate certificate, PrivateKey key, Path chainFile, Path keyFile) {
    String algorithm = switch (certificate.getPublicKey().getAlgorithm()) {
      case "RSA" -> "SHA256withRSA";
      case "EC" -> "SHA256withECDSA";
      case "Ed25519", "EdDSA" -> "Ed25519";
      default -> null;
    };
    if (algorithm == null) {
      return; // an unusual key type: the handshake will tell
    }
    try {
      byte[] probe = "protomatch key check".getBytes(StandardCharsets.US_ASCII);
      Signature signer = Signature.getInstance(algorithm);
      signer.initSign(key);
      signer.update(probe);
      byte[] signature = signer.sign();
      Signature verifier = Signature.getInstance(algorithm);
      verifier.initVerify(certificate.getPublicKey());
      verifier.update(probe);
      if (verifier.verify(signature)) {
        return;
      }
    } catch (GeneralSecurityException e) {
      // fall through: not a matching pair
    }
    throw new TlsFileException("client key '" + keyFile + "' does not belong to the first certificate in '"
        + chainFile + "'");
  }
}
