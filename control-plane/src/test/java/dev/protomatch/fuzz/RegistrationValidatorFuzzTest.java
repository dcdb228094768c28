package dev.protomatch.fuzz;

import com.code_intelligence.jazzer.junit.FuzzTest;
import com.google.protobuf.InvalidProtocolBufferException;
import dev.protomatch.api.v1.RegisterRequest;
import dev.protomatch.descriptor.DescriptorHasher;
import dev.protomatch.policy.Settings;
import dev.protomatch.registry.EndpointRegistration;
import io.grpc.Status;
import io.grpc.StatusException;
import java.lang.invoke.MethodHandle;
import java.lang.invoke.MethodHandles;
import java.lang.invoke.MethodType;

/**
 * Fuzzes the registration validator ({@code dev.protomatch.registration.RegistrationValidator}) with a
 * {@link RegisterRequest} as the bytes a registrant sends.
 *
 * <p>Property: bytes that parse as a RegisterRequest end in an {@link EndpointRegistration} or a
 * {@link StatusException} with {@code INVALID_ARGUMENT} or {@code RESOURCE_EXHAUSTED} and a description;
 * any other exception or error is a finding (bytes that do not parse never reach the validator: gRPC refuses
 * them). The default limits apply.
 *
 * <p>The validator is package-private; this test reaches its constructor and {@code validate} through a
 * private lookup (tests run on the class path, so every package is open to it) rather than living in the
 * registration package. Seeds in {@code RegistrationValidatorFuzzTestInputs/validate}: requests with hashes,
 * with a descriptor set, IPv6, labels and locality.
 */
class RegistrationValidatorFuzzTest {
  private static final Settings.Limits LIMITS = Settings.defaults().limits();
  private static final MethodHandle VALIDATE = validateHandle();

  @FuzzTest(maxDuration = "30s")
  void validate(byte[] input) throws Throwable {
    RegisterRequest request;
    try {
      request = RegisterRequest.parseFrom(input);
    } catch (InvalidProtocolBufferException e) {
      return;
    }
    try {
      EndpointRegistration registration = (EndpointRegistration) VALIDATE.invoke(request, "fuzz-client", LIMITS);
      if (registration == null) {
        throw new AssertionError("validate returned null");
      }
    } catch (StatusException e) {
      Status.Code code = e.getStatus().getCode();
      if (code != Status.Code.INVALID_ARGUMENT && code != Status.Code.RESOURCE_EXHAUSTED) {
        throw new AssertionError("refused with " + code + ", not INVALID_ARGUMENT or RESOURCE_EXHAUSTED", e);
      }
      FuzzTargets.requireClearMessage(e.getStatus().getDescription(), input);
    }
  }

  /** {@code new RegistrationValidator(new DescriptorHasher())::validate}, bound to one validator. */
  private static MethodHandle validateHandle() {
    try {
      Class<?> type = Class.forName("dev.protomatch.registration.RegistrationValidator");
      MethodHandles.Lookup lookup = MethodHandles.privateLookupIn(type, MethodHandles.lookup());
      Object validator = lookup.findConstructor(type, MethodType.methodType(void.class, DescriptorHasher.class))
          .invoke(new DescriptorHasher());
      return lookup.findVirtual(type, "validate", MethodType.methodType(
              EndpointRegistration.class, RegisterRequest.class, String.class, Settings.Limits.class))
          .bindTo(validator);
    } catch (Throwable e) {
      throw new IllegalStateException("RegistrationValidator(DescriptorHasher).validate(RegisterRequest, String,"
          + " Settings.Limits) is not there any more; update this test", e);
    }
  }
}
