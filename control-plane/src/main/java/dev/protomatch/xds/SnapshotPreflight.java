package dev.protomatch.xds;

import java.util.List;

/**
 * The last check of a node group's resources before {@link SnapshotPublisher} hands them to xDS clients: a
 * snapshot with problems is not published, and the last good one stays in force.
 *
 * <p>Implementations must be pure (same resources, same answer) and thread-safe; they are called on the
 * publishing thread for every snapshot that differs from the one in force.
 */
@FunctionalInterface
public interface SnapshotPreflight {
  /** Accepts everything. */
  SnapshotPreflight ACCEPT_ALL = (kind, resources) -> List.of();

  /**
   * What is wrong with {@code resources} for clients of {@code kind}, one line per problem naming the
   * resource and the field; empty when they may be published.
   */
  List<String> problems(NodeKind kind, XdsResources resources);
}
