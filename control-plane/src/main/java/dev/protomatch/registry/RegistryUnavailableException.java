package dev.protomatch.registry;

/**
 * A registry mutation could not reach the shared store (etcd) within its bounded timeout. The caller's
 * request may be retried: the registration API answers it with gRPC UNAVAILABLE. The registry's cached
 * {@link EndpointRegistry#state()} is unaffected (it stays as last applied).
 *
 * <p>The message is one line naming the store's endpoints, the operation and what went wrong.
 */
public final class RegistryUnavailableException extends RuntimeException {
  public RegistryUnavailableException(String message) {
    super(message, null, false, false);
  }
}
