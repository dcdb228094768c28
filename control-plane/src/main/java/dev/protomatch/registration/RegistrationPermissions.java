package dev.protomatch.registration;

import dev.protomatch.policy.AddressBlock;
import dev.protomatch.policy.Settings;
import dev.protomatch.registry.EndpointAddress;
import dev.protomatch.util.ClientText;
import io.grpc.Status;
import io.grpc.StatusException;
import java.net.InetAddress;
import java.net.UnknownHostException;
import java.util.Collection;
import java.util.Optional;

/**
 * Who may register what, by {@code settings.registration} (docs/security.md). Pure: the caller and the policy
 * are passed in. Every refusal is PERMISSION_DENIED with one line saying what was refused and which setting
 * would allow it.
 *
 * <ul>
 *   <li>A caller is identified by its client certificate when {@code identities} lists one of the certificate's
 *       identities (then only such callers may register), else by its certificate's first identity, else by its
 *       peer IP address. That identity owns what it registers: nobody else can replace or deregister it.
 *   <li>The registered host must be the caller's own address: its peer address, or any loopback address for
 *       a caller on this machine. {@code hosts: any} lifts this; an identity's {@code hosts} widen it.
 *   <li>An identity listed in {@code identities} registers only its {@code services}.
 * </ul>
 */
public final class RegistrationPermissions {
  private RegistrationPermissions() {}

  /** The caller's identity, and the grant it matched when {@code identities} is not empty. */
  public record Identity(String client, Optional<Settings.IdentityGrant> grant) {}

  /** Identifies {@code caller}; refuses it when the policy lists identities and the caller has none of them. */
  public static Identity identify(Settings.Registration policy, Caller caller) throws StatusException {
    if (policy.identities().isEmpty()) {
      return new Identity(caller.certificateIdentities().stream().findFirst().orElse(caller.peerText()),
          Optional.empty());
    }
    for (Settings.IdentityGrant grant : policy.identities()) {
      if (caller.certificateIdentities().contains(grant.identity())) {
        return new Identity(grant.identity(), Optional.of(grant));
      }
    }
    throw denied(caller.certificateIdentities().isEmpty()
        ? "registration requires a client certificate with an identity listed in settings.registration.identities"
            + " (the call from " + caller.peerText() + " presented none)"
        : "client certificate identities " + ClientText.clip(String.join(", ", caller.certificateIdentities()), ClientText.MAX_NODE_FIELD)
            + " are not listed in settings.registration.identities");
  }

  /** Refuses a registration of {@code services} at {@code address} that {@code identity} may not make. */
  public static void authorize(Settings.Registration policy, Caller caller, Identity identity, EndpointAddress address,
                               Collection<String> services) throws StatusException {
    if (identity.grant().isPresent() && !identity.grant().get().services().contains("*")) {
      for (String service : services) {
        if (!identity.grant().get().services().contains(service)) {
          throw denied("identity " + identity.client() + " may not register service " + service
              + " (settings.registration.identities lists " + String.join(", ", identity.grant().get().services()) + ")");
        }
      }
    }
    if (policy.anyHost()) {
      return;
    }
    InetAddress host = literal(address.host());
    if (caller.peer().isPresent() && caller.peer().get().equals(host)) {
      return;
    }
    if (caller.isLocal() && host.isLoopbackAddress()) {
      return;
    }
    if (identity.grant().isPresent()) {
      for (AddressBlock block : identity.grant().get().hosts()) {
        if (block.contains(host)) {
          return;
        }
      }
    }
    throw denied("endpoint.host " + address.host() + " is not the caller's own address (" + caller.peerText()
        + "): a registrant registers only itself unless settings.registration allows more (hosts: any, or an"
        + " identity's hosts)");
  }

  private static InetAddress literal(String canonicalIp) {
    try {
      return InetAddress.getByName(canonicalIp); // an IP literal (validated), so no lookup
    } catch (UnknownHostException e) {
      throw new IllegalStateException("validated host is not an IP literal: " + canonicalIp, e);
    }
  }

  private static StatusException denied(String description) {
    return Status.PERMISSION_DENIED.withDescription(description).asException();
  }
}
