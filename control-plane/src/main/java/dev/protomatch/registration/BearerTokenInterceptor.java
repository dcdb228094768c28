package dev.protomatch.registration;

import com.github.benmanes.caffeine.cache.Caffeine;
import com.github.benmanes.caffeine.cache.LoadingCache;
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
import java.util.Optional;
import java.util.function.Function;
import java.util.function.Supplier;

/**
 * Authenticates registration calls with {@code authorization: Bearer <token>} metadata and records who
 * the caller is (its peer address) for per-client limits.
 *
 * <p>The expected token comes from the policy's {@code settings.auth}: a file (re-read every few seconds,
 * so a rotated secret takes effect without a restart) or an environment variable. {@code insecure: true}
 * lets every call through; it exists for local development only.
 */
public final class BearerTokenInterceptor implements ServerInterceptor {
  /** The caller's identity for per-client limits: the peer's IP address. */
  public static final Context.Key<String> CLIENT = Context.key("protomatch-client");

  private static final Metadata.Key<String> AUTHORIZATION =
      Metadata.Key.of("authorization", Metadata.ASCII_STRING_MARSHALLER);
  private static final String BEARER = "Bearer ";

  private final Supplier<Settings.Auth> auth;
  private final LoadingCache<Settings.Auth, Optional<byte[]>> tokens;

  /**
   * @param env environment lookup (System::getenv in production)
   */
  public BearerTokenInterceptor(Supplier<Settings.Auth> auth, Function<String, String> env) {
    this.auth = auth;
    this.tokens = Caffeine.newBuilder().expireAfterWrite(Duration.ofSeconds(5)).maximumSize(4)
        .build(settings -> expectedToken(settings, env));
  }

  @Override
  public <Q, R> ServerCall.Listener<Q> interceptCall(
      ServerCall<Q, R> call, Metadata headers, ServerCallHandler<Q, R> next) {
    Settings.Auth settings = auth.get();
    if (!settings.insecure()) {
      Optional<byte[]> expected = tokens.get(settings);
      String header = headers.get(AUTHORIZATION);
      if (expected.isEmpty()) {
        return refuse(call, Status.UNAUTHENTICATED.withDescription(
            "registration is disabled: the configured token (settings.auth) cannot be read"));
      }
      if (header == null || !header.startsWith(BEARER)) {
        return refuse(call, Status.UNAUTHENTICATED.withDescription(
            "missing bearer token: send metadata 'authorization: Bearer <token>'"));
      }
      byte[] presented = header.substring(BEARER.length()).trim().getBytes(StandardCharsets.UTF_8);
      if (!MessageDigest.isEqual(presented, expected.get())) {
        return refuse(call, Status.UNAUTHENTICATED.withDescription("invalid bearer token"));
      }
    }
    Context context = Context.current().withValue(CLIENT, clientOf(call.getAttributes().get(Grpc.TRANSPORT_ATTR_REMOTE_ADDR)));
    return Contexts.interceptCall(context, call, headers, next);
  }

  private static <Q, R> ServerCall.Listener<Q> refuse(ServerCall<Q, R> call, Status status) {
    call.close(status, new Metadata());
    return new ServerCall.Listener<>() {};
  }

  private static String clientOf(SocketAddress address) {
    if (address instanceof InetSocketAddress inet) {
      return inet.getAddress() != null ? inet.getAddress().getHostAddress() : inet.getHostString();
    }
    return String.valueOf(address);
  }

  private static Optional<byte[]> expectedToken(Settings.Auth settings, Function<String, String> env) {
    String token = null;
    if (settings.tokenFile().isPresent()) {
      try {
        token = Files.readString(settings.tokenFile().get(), StandardCharsets.UTF_8);
      } catch (IOException e) {
        return Optional.empty();
      }
    } else if (settings.tokenEnv().isPresent()) {
      token = env.apply(settings.tokenEnv().get());
    }
    if (token == null || token.isBlank()) {
      return Optional.empty();
    }
    return Optional.of(token.trim().getBytes(StandardCharsets.UTF_8));
  }
}
