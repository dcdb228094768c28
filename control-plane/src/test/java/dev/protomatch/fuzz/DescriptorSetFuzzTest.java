package dev.protomatch.fuzz;

import com.code_intelligence.jazzer.junit.FuzzTest;
import com.google.protobuf.DescriptorProtos.FileDescriptorProto;
import com.google.protobuf.DescriptorProtos.FileDescriptorSet;
import com.google.protobuf.InvalidProtocolBufferException;
import dev.protomatch.descriptor.DescriptorHasher;
import dev.protomatch.descriptor.DescriptorSetFingerprint;
import dev.protomatch.descriptor.InvalidDescriptorException;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;

/**
 * Fuzzes the descriptor-set reader and hasher ({@code DescriptorSetResolver} behind
 * {@link DescriptorHasher#fingerprint(byte[], String)}) with the bytes an endpoint or a file could hand it.
 *
 * <p>Property: every input ends in a {@link DescriptorSetFingerprint} or an {@link InvalidDescriptorException}
 * with a message; any other exception or error (a {@link StackOverflowError} from deep imports, an
 * {@link OutOfMemoryError} under the fuzz run's heap cap) is a finding. A set that fingerprints also
 * fingerprints the same with its files in reverse order, since the resolver documents that it accepts files in
 * whatever order the producer wrote them.
 *
 * <p>Regression mode (every {@code ./mvnw test}) runs the seeds in {@code DescriptorSetFuzzTestInputs/fingerprint}:
 * protoc's descriptor sets of the demo and registration protos. How to fuzz: see {@code FuzzTargets}.
 */
class DescriptorSetFuzzTest {
  private static final String SOURCE = "fuzz input";
  /** A fresh, small hasher per input: a cache hit would hide the resolver from inputs the fuzzer repeats. */
  private static final long CACHE_BYTES = 1 << 20;

  @FuzzTest(maxDuration = "30s")
  void fingerprint(byte[] input) {
    DescriptorSetFingerprint fingerprint;
    try {
      fingerprint = new DescriptorHasher(CACHE_BYTES).fingerprint(input, SOURCE);
    } catch (InvalidDescriptorException e) {
      FuzzTargets.requireClearMessage(e.getMessage(), input);
      return;
    }
    FileDescriptorSet reversed = reversed(input);
    DescriptorSetFingerprint again = new DescriptorHasher(CACHE_BYTES).fingerprint(reversed, SOURCE);
    if (!again.equals(fingerprint)) {
      throw new AssertionError("the same files in reverse order fingerprint differently: " + fingerprint
          + " vs " + again);
    }
  }

  private static FileDescriptorSet reversed(byte[] input) {
    try {
      List<FileDescriptorProto> files = new ArrayList<>(FileDescriptorSet.parseFrom(input).getFileList());
      Collections.reverse(files);
      return FileDescriptorSet.newBuilder().addAllFile(files).build();
    } catch (InvalidProtocolBufferException e) {
      throw new AssertionError("the hasher accepted bytes that do not parse as a FileDescriptorSet", e);
    }
  }
}
