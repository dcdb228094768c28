package dev.protomatch.xds;

import java.util.Set;

/** What the connected clients acknowledged, as the publisher needs it for make-before-break. */
@FunctionalInterface
public interface ClientAcks {
  /** No clients to wait for. */
  ClientAcks NONE = (kind, type, versions) -> true;

  /** Whether every client of {@code kind} that was sent {@code type} has ACKed one of {@code versions}. */
  boolean allAcked(NodeKind kind, XdsType type, Set<String> versions);
}
