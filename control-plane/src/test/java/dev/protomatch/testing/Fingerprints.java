package dev.protomatch.testing;

import dev.protomatch.descriptor.DescriptorHasher;
import dev.protomatch.descriptor.ServiceFingerprint;

/** Fingerprints of the fixture services, computed by the real hasher from protoc's descriptor sets. */
public final class Fingerprints {
  private static final DescriptorHasher HASHER = new DescriptorHasher();

  private Fingerprints() {}

  public static ServiceFingerprint of(DescriptorFixtures.Fixture fixture) {
    return HASHER.fingerprint(fixture.protocSetBytes(), fixture.name()).service(fixture.service(), fixture.name());
  }

  public static ServiceFingerprint greeterV1() {
    return of(DescriptorFixtures.GREETER_V1);
  }

  public static ServiceFingerprint greeterV2() {
    return of(DescriptorFixtures.GREETER_V2);
  }
}
