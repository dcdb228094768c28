package dev.protomatch.xds;

import java.time.Instant;
import java.util.Map;
import java.util.Optional;

/**
 * What protomatch knows about one connected xDS stream, for the admin view.
 *
 * @param protocol {@code sotw} (state of the world) or {@code delta} (incremental)
 * @param types per resource type URL
 */
public record XdsClientStatus(
    long streamId, String nodeId, String cluster, String userAgent, String protocol, Instant connectedAt,
    Map<String, TypeStatus> types) {

  public XdsClientStatus {
    types = Map.copyOf(types);
  }

  /** One resource type on one stream. */
  public record TypeStatus(String sentVersion, String ackedVersion, Optional<Nack> lastNack) {}

  /** A rejected response: the version the client refused and the client's own error text. */
  public record Nack(String version, String errorDetail, Instant at) {}
}
