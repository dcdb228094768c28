package dev.protomatch.xds;

import java.util.Set;

/** What the connected clients acknowledged, as the publisher needs it for make-before-break. */
public interface ClientAcks {
  /** No clients to wait for. */
  ClientAcks NONE = new ClientAcks() {
    @Override
    public boolean allAcked(NodeKind kind, XdsType type, Set<String> versions) {
      return true;
    }

    @Override
    public boolean allHoldClusters(NodeKind kind, Set<String> clusters, String clustersVersion,
                                   String endpointsVersion) {
      return true;
    }
  };

  /** Whether every client of {@code kind} that was sent {@code type} has ACKed one of {@code versions}. */
  boolean allAcked(NodeKind kind, XdsType type, Set<String> versions);

  /**
   * Whether every client of {@code kind} that subscribes to one of {@code clusters} (a wildcard CDS subscription
   * subscribes to all) has ACKed it and, if the client uses EDS at all, its assignment: a state-of-the-world
   * client in responses of {@code clustersVersion} and {@code endpointsVersion} (or later content of the same
   * name, for delta clients). A client that subscribes to none of them is not waited for: a proxyless client asks
   * for a cluster only once a route leads to it.
   */
  boolean allHoldClusters(NodeKind kind, Set<String> clusters, String clustersVersion, String endpointsVersion);
}
