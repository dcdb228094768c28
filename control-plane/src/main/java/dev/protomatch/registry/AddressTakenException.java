package dev.protomatch.registry;

/**
 * A registration named an address that another registrant's live registration, or a static endpoint of the
 * config file, holds. Nothing was changed. The message names the owner kind and says what to do.
 */
public final class AddressTakenException extends RuntimeException {
  /** Who holds an address. */
  public enum Owner { ANOTHER_REGISTRANT, STATIC_ENDPOINT }

  private final Owner owner;

  public AddressTakenException(EndpointAddress address, Owner owner) {
    super(switch (owner) {
      case ANOTHER_REGISTRANT -> address + " is registered by another registrant; only it can replace or "
          + "deregister it (or its lease must expire)";
      case STATIC_ENDPOINT -> address + " is a static endpoint of the config file; registrations cannot replace it";
    }, null, false, false);
    this.owner = owner;
  }

  public Owner owner() {
    return owner;
  }
}
