package dev.protomatch.registration;

import com.github.benmanes.caffeine.cache.Caffeine;
import com.github.benmanes.caffeine.cache.LoadingCache;
import com.github.benmanes.caffeine.cache.Ticker;
import dev.protomatch.policy.Settings;
import io.grpc.Context;
import io.grpc.Contexts;
import io.grpc.Grpc;
import io.grpc.Metadata;
import io.grpc.ServerCall;
import io.grpc.ServerCallHandler;
import io.grpc.ServerInterceptor;
import io.grpc.Status;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.SocketAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.security.MessageDigest;
import java.time.Duration;
import java.security.cert.Certificate;
import java.security.cert.CertificateParsingException;
import java.security.cert.X509Certificate;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.Optional;
import javax.net.ssl.SSLPeerUnverifiedException;
import javax.net.ssl.SSLSession;
import java.util.function.Function;
import java.util.function.Supplier;

/**
 * Authenticates registration calls with {@code authorization: Bearer <token>} metadata and records who
 * the caller is ({@link Caller}: its peer address and, with mTLS, its certificate's identities) for
 * {@link RegistrationPermissions} and per-client limits.
 *
 * <p>The accepted tokens come from the policy's {@code settings.auth}: a file (re-read every few seconds, so a
 * rotated secret takes effect without a restart) or an environment variable, holding one token or several
 * separated by whitespace (old and new during a rotation). If the source becomes unreadable after a good
 * read, the tokens read last stay accepted (a WARN, and {@link #usingLastGoodToken()}). {@code insecure: true}
 * lets every call through; it exists for local development only.
 *
 * <p>A refused call is announced to the {@link #addRefusalListener refusal listeners} (metrics count every one)
 * and logged at INFO with its peer and reason, once per peer per minute (at most {@value #LOGGED_PEERS} peers
 * are remembered; a peer forgotten early is logged again).
 */
public final class BearerTokenInterceptor implements ServerInterceptor {
  private static final org.slf4j.Logger log = org.slf4j.LoggerFactory.getLogger(BearerTokenInterceptor.class);
  /** Who made the call: its peer address and, with mTLS, its client certificate's identities. */
  public static final Context.Key<Caller> CALLER = Context.key("protomatch-caller");

  private static final Metadata.Key<String> AUTHORIZATION =
      Metadata.Key.of("authorization", Metadata.ASCII_STRING_MARSHALLER);
  private static final String BEARER = "Bearer ";
  /** X.509 GeneralName tags (RFC 5280): dNSName and uniformResourceIdentifier. */
  private static final int DNS_SAN = 2;
  private static final int URI_SAN = 6;

  /** How many peers' last refusal log line are remembered for rate limiting. */
  static final int LOGGED_PEERS = 1_024;
  /** A peer's refusals are logged at most once this often. */
  static final Duration LOG_EVERY = Duration.ofMinutes(1);

  /** Why a call was refused; {@link #label()} is the metric's label value. */
  public enum RefusalReason {
    /** No {@code authorization: Bearer} metadata. */
    MISSING_TOKEN("missing"),
    /** A token none of the accepted ones equals. */
    INVALID_TOKEN("invalid"),
    /** The configured token source cannot be read and was never read: registration is disabled. */
    TOKEN_UNREADABLE("unreadable");

    private final String label;

    RefusalReason(String label) {
      this.label = label;
    }

    public String label() {
      return label;
    }
  }

  /** One refused call: the peer's address as text ({@code ?} when unknown), the method, why. */
  public record Refusal(String peer, String method, RefusalReason reason) {}

  private final Supplier<Settings.Auth> auth;
  private final LoadingCache<Settings.Auth, Optional<List<byte[]>>> tokens;
  /** Peers whose refusal was logged within {@link #LOG_EVERY}; entries expire, the cache is thread-safe. */
  private final com.github.benmanes.caffeine.cache.Cache<String, Boolean> recentlyLogged;
  /** Called on the gRPC threads that refuse, without any lock held. */
  private final List<java.util.function.Consumer<Refusal>> refusalListeners =
      new java.util.concurrent.CopyOnWriteArrayList<>();
  /** The tokens last read successfully, by the setting they were read for; written by the cache's loader. */
  private final java.util.concurrent.ConcurrentHashMap<Settings.Auth, List<byte[]>> lastGood =
      new java.util.concurrent.ConcurrentHashMap<>();
  /** Whether the latest read failed and the last good tokens stand in; written by the cache's loader. */
  private volatile boolean usingLastGood;

  /**
   * @param env environment lookup (System::getenv in production)
   */
  public BearerTokenInterceptor(Supplier<Settings.Auth> auth, Function<String, String> env) {
    this(auth, env, Ticker.systemTicker());
  }

  /** @param ticker the time the once-a-minute log limit is measured on (tests step it) */
  BearerTokenInterceptor(Supplier<Settings.Auth> auth, Function<String, String> env, Ticker ticker) {
    this.auth = auth;
    this.tokens = Caffeine.newBuilder().expireAfterWrite(Duration.ofSeconds(5)).maximumSize(4)
        .build(settings -> read(settings, env));
    this.recentlyLogged = Caffeine.newBuilder().expireAfterWrite(LOG_EVERY).maximumSize(LOGGED_PEERS)
        .ticker(ticker).executor(Runnable::run).build();
  }

  /** Tells {@code listener} about every refused call (on the refusing thread). */
  public void addRefusalListener(java.util.function.Consumer<Refusal> listener) {
    refusalListeners.add(listener);
  }

  /**
   * Whether the token source became unreadable (or empty) after a successful read, so the tokens read last
   * are still the ones accepted (exported as {@code protomatch_registration_token_stale}).
   */
  public boolean usingLastGoodToken() {
    return usingLastGood;
  }

  /**
   * The accepted tokens: read fresh, or, if the source cannot be read now but could before, the ones read
   * last (with a WARN when that starts), so a token file caught mid-rotation or made unreadable by mistake
   * does not refuse every keep-alive of the fleet.
   */
  private Optional<List<byte[]>> read(Settings.Auth settings, Function<String, String> env) {
    Optional<List<byte[]>> fresh = expectedTokens(settings, env);
    if (fresh.isPresent()) {
      if (usingLastGood) {
        log.info("registration token source {} is readable again", source(settings));
      }
      usingLastGood = false;
      lastGood.clear();
      lastGood.put(settings, fresh.get());
      return fresh;
    }
    List<byte[]> last = lastGood.get(settings);
    if (last == null) {
      return Optional.empty();
    }
    if (!usingLastGood) {
      log.warn("registration token source {} cannot be read or holds no token; the tokens read last stay in force"
          + " until it can", source(settings));
    }
    usingLastGood = true;
    return Optional.of(last);
  }

  private static String source(Settings.Auth settings) {
    return settings.tokenFile().map(file -> "file '" + file + "'")
        .orElse("environment variable " + settings.tokenEnv().orElse("?"));
  }

  @Override
  public <Q, R> ServerCall.Listener<Q> interceptCall(
      ServerCall<Q, R> call, Metadata headers, ServerCallHandler<Q, R> next) {
    Settings.Auth settings = auth.get();
    if (!settings.insecure()) {
      Optional<List<byte[]>> expected = tokens.get(settings);
      String header = headers.get(AUTHORIZATION);
      if (expected.isEmpty()) {
        return refuse(call, RefusalReason.TOKEN_UNREADABLE, Status.UNAUTHENTICATED.withDescription(
            "registration is disabled: the configured token (settings.auth) cannot be read"));
      }
      if (header == null || !header.startsWith(BEARER)) {
        return refuse(call, RefusalReason.MISSING_TOKEN, Status.UNAUTHENTICATED.withDescription(
            "missing bearer token: send metadata 'authorization: Bearer <token>'"));
      }
      byte[] presented = header.substring(BEARER.length()).trim().getBytes(StandardCharsets.UTF_8);
      boolean accepted = false;
      for (byte[] token : expected.get()) {
        accepted |= MessageDigest.isEqual(presented, token); // every token compared: no early exit to time
      }
      if (!accepted) {
        return refuse(call, RefusalReason.INVALID_TOKEN,
            Status.UNAUTHENTICATED.withDescription("invalid bearer token"));
      }
    }
    Caller caller = new Caller(peerOf(call.getAttributes().get(Grpc.TRANSPORT_ATTR_REMOTE_ADDR)),
        certificateIdentities(call.getAttributes().get(Grpc.TRANSPORT_ATTR_SSL_SESSION)));
    Context context = Context.current().withValue(CALLER, caller);
    return Contexts.interceptCall(context, call, headers, next);
  }

  /** Logs (rate-limited) and announces the refusal, then closes the call: the caller learns of it last. */
  private <Q, R> ServerCall.Listener<Q> refuse(ServerCall<Q, R> call, RefusalReason reason, Status status) {
    SocketAddress address = call.getAttributes().get(Grpc.TRANSPORT_ATTR_REMOTE_ADDR);
    Refusal refusal = new Refusal(address instanceof InetSocketAddress inet && inet.getAddress() != null
        ? inet.getAddress().getHostAddress() : String.valueOf(address == null ? "?" : address),
        call.getMethodDescriptor().getFullMethodName(), reason);
    if (recentlyLogged.asMap().putIfAbsent(refusal.peer(), Boolean.TRUE) == null) {
      log.info("refused registration call {} from {}: {} (logged once a minute per peer; every refusal counts in"
          + " protomatch_registration_auth_refusals_total)", refusal.method(), refusal.peer(), status.getDescription());
    }
    for (java.util.function.Consumer<Refusal> listener : refusalListeners) {
      listener.accept(refusal);
    }
    call.close(status, new Metadata());
    return new ServerCall.Listener<>() {};
  }

  private static Optional<java.net.InetAddress> peerOf(SocketAddress address) {
    return address instanceof InetSocketAddress inet ? Optional.ofNullable(inet.getAddress()) : Optional.empty();
  }

  /** The verified client certificate's URI SANs, then its DNS SANs; empty without mTLS. */
  static List<String> certificateIdentities(SSLSession session) {
    if (session == null) {
      return List.of();
    }
    Certificate[] chain;
    try {
      chain = session.getPeerCertificates();
    } catch (SSLPeerUnverifiedException e) {
      return List.of(); // TLS without a client certificate
    }
    if (chain.length == 0 || !(chain[0] instanceof X509Certificate leaf)) {
      return List.of();
    }
    List<String> uris = new ArrayList<>();
    List<String> names = new ArrayList<>();
    try {
      Collection<List<?>> sans = leaf.getSubjectAlternativeNames();
      if (sans != null) {
        for (List<?> san : sans) {
          if (san.size() >= 2 && san.get(0) instanceof Integer type && san.get(1) instanceof String value) {
            if (type == URI_SAN) {
              uris.add(value);
            } else if (type == DNS_SAN) {
              names.add(value);
            }
          }
        }
      }
    } catch (CertificateParsingException e) {
      return List.of();
    }
    uris.addAll(names);
    return uris;
  }

  /**
   * The tokens the source holds: whitespace-separated, so a file (or variable) can hold the old and the new
   * token while clients move from one to the other; empty if it cannot be read or holds none.
   */
  private static Optional<List<byte[]>> expectedTokens(Settings.Auth settings, Function<String, String> env) {
    String text = null;
    if (settings.tokenFile().isPresent()) {
      try {
        text = Files.readString(settings.tokenFile().get(), StandardCharsets.UTF_8);
      } catch (IOException e) {
        return Optional.empty();
      }
    } else if (settings.tokenEnv().isPresent()) {
      text = env.apply(settings.tokenEnv().get());
    }
    if (text == null || text.isBlank()) {
      return Optional.empty();
    }
    List<byte[]> tokens = new ArrayList<>();
    for (String token : text.trim().split("\\s+")) {
      tokens.add(token.getBytes(StandardCharsets.UTF_8));
    }
    return Optional.of(List.copyOf(tokens));
  }
}
