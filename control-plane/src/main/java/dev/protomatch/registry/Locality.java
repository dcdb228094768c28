package dev.protomatch.registry;

/** Where an endpoint runs, for locality-aware load balancing; empty strings when unknown. */
public record Locality(String region, String zone, String subZone) {
  public static final Locality UNKNOWN = new Locality("", "", "");
}
