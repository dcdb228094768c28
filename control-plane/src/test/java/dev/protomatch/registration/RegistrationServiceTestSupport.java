package dev.protomatch.registration;

import dev.protomatch.api.v1.ServiceAdvertisement;

/** Registration fixtures shared with tests outside this package. */
public final class RegistrationServiceTestSupport {
  private RegistrationServiceTestSupport() {}

  /** demo.Greeter v2 advertised with its full descriptor set. */
  public static ServiceAdvertisement greeterV2WithDescriptors() {
    return RegistrationServiceTest.greeterV2WithDescriptors();
  }
}
