package dev.protomatch.registry;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.protomatch.descriptor.ServiceFingerprint;
import dev.protomatch.probe.ReflectionException;
import dev.protomatch.probe.ReflectionProtocol;
import dev.protomatch.registry.EtcdRecords.Probe;
import dev.protomatch.registry.EtcdRecords.Registration;
import dev.protomatch.testing.Fingerprints;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.Instant;
import java.util.Map;
import java.util.Optional;
import java.util.TreeMap;
import org.junit.jupiter.api.Test;

/** The JSON kept in etcd gives back exactly what was stored: replicas decide from what they decode. */
class EtcdRecordsTest {
  private static final Instant AT = Instant.parse("2026-11-25T21:30:00.123456789Z");

  @Test
  void probedRoundTripKeepsEveryFingerprintHashAndMethod() {
    ServiceFingerprint v1 = Fingerprints.greeterV1();
    ServiceFingerprint v2 = Fingerprints.greeterV2();
    Probe probe = new Probe(42, new ProbeState.Probed(AT, ReflectionProtocol.V1ALPHA,
        new TreeMap<>(Map.of(v1.service(), v1, "other.Service", v2))));

    Probe decoded = EtcdRecords.decodeProbe(EtcdRecords.encode(probe));

    assertThat(decoded).isEqualTo(probe);
    ProbeState.Probed probed = (ProbeState.Probed) decoded.probe();
    assertThat(probed.services().get(v1.service()).methods()).isEqualTo(v1.methods()).isNotEmpty();
    assertThat(probed.services().get(v1.service()).api()).isEqualTo(v1.api());
    assertThat(probed.services().get(v1.service()).schema()).isEqualTo(v1.schema());
    assertThat(probed.at()).isEqualTo(AT);
  }

  @Test
  void failedAndNotProbedRoundTrip() {
    Probe failed = new Probe(Long.MIN_VALUE + 7, new ProbeState.Failed(AT, ReflectionException.Kind.TIMEOUT,
        "127.0.0.1:1: no answer within 2s \"quoted\"\nsecond line", 3));
    Probe none = new Probe(9, ProbeState.NOT_PROBED);

    assertThat(EtcdRecords.decodeProbe(EtcdRecords.encode(failed))).isEqualTo(failed);
    assertThat(EtcdRecords.decodeProbe(EtcdRecords.encode(none))).isEqualTo(none);
  }

  @Test
  void registrationRoundTripKeepsClaimsLeaseAndGeneration() {
    ServiceFingerprint v1 = Fingerprints.greeterV1();
    Advertisement hashesOnly = new Advertisement("demo.Other", Optional.of(v1.api()), Optional.empty(), Optional.empty());
    Registration registration = new Registration(0x7fff_0000_1234L, 0x694d_9a2b_c3d4_e5f6L, Duration.ofSeconds(30),
        new EndpointAddress("::1", 50051), new Locality("eu", "eu-1a", ""), new TreeMap<>(Map.of("track", "canary")),
        250, new TreeMap<>(Map.of(v1.service(), Advertisement.of(v1), "demo.Other", hashesOnly)),
        "127.0.0.1:40000", AT);

    byte[] encoded = EtcdRecords.encode(registration);

    assertThat(EtcdRecords.decodeRegistration(encoded)).isEqualTo(registration);
    assertThat(EtcdRecords.encode(EtcdRecords.decodeRegistration(encoded))).isEqualTo(encoded);
  }

  @Test
  void garbageIsRefusedWithTheMissingField() {
    assertThatThrownBy(() -> EtcdRecords.decodeProbe("{\"generation\":1}".getBytes(StandardCharsets.UTF_8)))
        .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("'probe'");
    assertThatThrownBy(() -> EtcdRecords.decodeRegistration("not json".getBytes(StandardCharsets.UTF_8)))
        .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("not JSON");
  }
}
