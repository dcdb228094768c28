package dev.protomatch.admin;

import dev.protomatch.registry.EtcdEndpointRegistry;
import dev.protomatch.registry.ReplicaRecord;
import java.time.Instant;
import java.util.List;
import java.util.Optional;

/**
 * What {@code GET /v1/replicas} and the status page show about the replicas, read afresh at each request.
 *
 * @param replicaId this replica's name
 * @param startedAt when this replica started
 * @param etcd the etcd registry's health; empty with the in-memory registry
 * @param probeLeader the replica holding the prober's job, as last seen in etcd; empty when unknown or in-memory
 * @param peers the other live replicas on the same etcd prefix, by id (none with the in-memory registry)
 */
public record ReplicaFacts(String replicaId, Instant startedAt, Optional<EtcdEndpointRegistry.Health> etcd,
                           Optional<String> probeLeader, List<ReplicaRecord> peers) {
  public ReplicaFacts {
    peers = List.copyOf(peers);
  }

  /** A replica on the in-memory registry: alone. */
  public static ReplicaFacts inMemory(String replicaId, Instant startedAt) {
    return new ReplicaFacts(replicaId, startedAt, Optional.empty(), Optional.empty(), List.of());
  }
}
