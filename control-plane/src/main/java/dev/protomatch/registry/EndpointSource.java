package dev.protomatch.registry;

/** How protomatch learned of an endpoint. */
public enum EndpointSource {
  /** The endpoint (or an agent beside it) registered through the registration API and holds a lease. */
  REGISTRATION,
  /** Declared in the config file's static-endpoints; no lease, hashes learned only by probing. */
  STATIC
}
