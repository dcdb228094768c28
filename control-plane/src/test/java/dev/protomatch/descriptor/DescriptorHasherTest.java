package dev.protomatch.descriptor;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.InstanceOfAssertFactories.MAP;

import com.google.protobuf.DescriptorProtos.DescriptorProto;
import com.google.protobuf.DescriptorProtos.FileDescriptorProto;
import com.google.protobuf.DescriptorProtos.FileDescriptorSet;
import com.google.protobuf.DescriptorProtos.MethodDescriptorProto;
import com.google.protobuf.DescriptorProtos.ServiceDescriptorProto;
import dev.protomatch.testing.DescriptorFixtures;
import java.nio.charset.StandardCharsets;
import java.util.Map;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.Test;

/** The hasher's contract beyond the hash values: caching, method surfaces, and errors for bad input. */
class DescriptorHasherTest {
  private final DescriptorHasher hasher = new DescriptorHasher();

  @Test
  void repeatedInputIsServedFromCache() {
    byte[] set = DescriptorFixtures.GREETER_V2.protocSetBytes();

    DescriptorSetFingerprint first = hasher.fingerprint(set, "first");
    DescriptorSetFingerprint second = hasher.fingerprint(set.clone(), "second");

    assertThat(second).isSameAs(first);
    assertThat(hasher.cacheStats().hitCount()).isEqualTo(1);
  }

  @Test
  void reportsMethodSurface() {
    ServiceFingerprint greeter = hasher.fingerprint(DescriptorFixtures.GREETER_V2.protocSetBytes(), "v2")
        .service("demo.Greeter", "v2");

    assertThat(greeter.methods()).containsOnlyKeys("SayHello", "SayHelloAgain");
    assertThat(greeter.methods().get("SayHelloAgain"))
        .isEqualTo(new MethodSignature("SayHelloAgain", "demo.HelloRequest", "demo.HelloReply", false, false));
  }

  @Test
  void rejectsBytesThatAreNotADescriptorSet() {
    assertThatThrownBy(() -> hasher.fingerprint("hello world\n".getBytes(StandardCharsets.UTF_8), "notes.txt"))
        .isInstanceOf(InvalidDescriptorException.class)
        .hasMessageStartingWith("notes.txt: not a FileDescriptorSet")
        .hasMessageEndingWith("expected the output of protoc --descriptor_set_out --include_imports");
  }

  @Test
  void rejectsEmptyInput() {
    assertThatThrownBy(() -> hasher.fingerprint(new byte[0], "empty.pb"))
        .isInstanceOf(InvalidDescriptorException.class)
        .hasMessage("empty.pb: not a FileDescriptorSet, or an empty one (expected the output of protoc"
            + " --descriptor_set_out --include_imports)");
  }

  @Test
  void rejectsSetMissingAnImportedFile() {
    FileDescriptorSet.Builder set = DescriptorFixtures.CATALOG_LAYOUT_A.protocSet().toBuilder();
    set.removeFile(indexOf(set, "google/protobuf/timestamp.proto"));

    assertThatThrownBy(() -> hasher.fingerprint(set.build(), "catalog.pb"))
        .isInstanceOf(InvalidDescriptorException.class)
        .hasMessage("catalog.pb: file 'catalog/v1/types.proto' imports 'google/protobuf/timestamp.proto', which the"
            + " descriptor set does not contain (write it with protoc --include_imports)");
  }

  @Test
  void rejectsFileReferringToUndefinedType() {
    FileDescriptorSet.Builder set = DescriptorFixtures.GREETER_V1.protocSet().toBuilder();
    set.getFileBuilder(indexOf(set, "demo/greeter.proto")).getServiceBuilder(0).getMethodBuilder(0)
        .setInputType(".demo.NoSuchRequest");

    assertThatThrownBy(() -> hasher.fingerprint(set.build(), "greeter.pb"))
        .isInstanceOf(InvalidDescriptorException.class)
        .hasMessage("greeter.pb: file 'demo/greeter.proto' is invalid: demo.Greeter.SayHello:"
            + " \".demo.NoSuchRequest\" is not defined.");
  }

  @Test
  void linksAnImportChainAsDeepAsTheFileCapOnASmallStack() throws Exception {
    byte[] set = importChain(DescriptorSetResolver.MAX_FILES, false).toByteArray();
    AtomicReference<Object> outcome = new AtomicReference<>();

    // 256 KiB: a resolver recursing once per import overflows here; the prober's threads have more.
    Thread small = new Thread(null, () -> {
      try {
        outcome.set(new DescriptorHasher().fingerprint(set, "deep.pb").service("chain.Deep", "deep").methods());
      } catch (Throwable e) {
        outcome.set(e);
      }
    }, "small-stack", 256 * 1024);
    small.start();
    small.join();

    assertThat(outcome.get()).isInstanceOf(Map.class).asInstanceOf(MAP).containsOnlyKeys("Call");
  }

  @Test
  void rejectsPublicImportsNestedDeeperThanTheLimit() {
    byte[] set = importChain(DescriptorSetResolver.MAX_PUBLIC_IMPORT_DEPTH + 1, true).toByteArray();

    assertThatThrownBy(() -> hasher.fingerprint(set, "nested.pb"))
        .isInstanceOf(InvalidDescriptorException.class)
        .hasMessage("nested.pb: file 'chain/f0.proto' starts a chain of 65 public imports, more than the 64 accepted");
    assertThat(hasher.fingerprint(importChain(DescriptorSetResolver.MAX_PUBLIC_IMPORT_DEPTH, true).toByteArray(),
        "nested.pb").service("chain.Deep", "deep").methods()).containsOnlyKeys("Call");
  }

  @Test
  void rejectsMoreFilesThanTheCap() {
    byte[] set = importChain(DescriptorSetResolver.MAX_FILES + 1, false).toByteArray();

    assertThatThrownBy(() -> hasher.fingerprint(set, "huge.pb"))
        .isInstanceOf(InvalidDescriptorException.class)
        .hasMessage("huge.pb: the descriptor set holds 2001 files, more than the 2000 accepted");
  }

  @Test
  void rejectsAnImportCycle() {
    FileDescriptorSet set = FileDescriptorSet.newBuilder()
        .addFile(FileDescriptorProto.newBuilder().setName("a.proto").addDependency("b.proto"))
        .addFile(FileDescriptorProto.newBuilder().setName("b.proto").addDependency("c.proto"))
        .addFile(FileDescriptorProto.newBuilder().setName("c.proto").addDependency("a.proto"))
        .build();

    assertThatThrownBy(() -> hasher.fingerprint(set.toByteArray(), "cycle.pb"))
        .isInstanceOf(InvalidDescriptorException.class)
        .hasMessage("cycle.pb: import cycle: a.proto -> b.proto -> c.proto -> a.proto");
  }

  /**
   * {@code files} files, each importing the next ({@code import public} if {@code viaPublic}); the first defines
   * service chain.Deep, whose message Ping is defined in the first file, or in the last one when the public
   * imports make it visible from the first.
   */
  private static FileDescriptorSet importChain(int files, boolean viaPublic) {
    FileDescriptorSet.Builder set = FileDescriptorSet.newBuilder();
    for (int i = 0; i < files; i++) {
      FileDescriptorProto.Builder file = FileDescriptorProto.newBuilder().setName("chain/f" + i + ".proto")
          .setPackage("chain").setSyntax("proto3");
      if (i + 1 < files) {
        file.addDependency("chain/f" + (i + 1) + ".proto");
        if (viaPublic) {
          file.addPublicDependency(0);
        }
      }
      if (viaPublic ? i + 1 == files : i == 0) {
        file.addMessageType(DescriptorProto.newBuilder().setName("Ping"));
      }
      if (i == 0) {
        file.addService(ServiceDescriptorProto.newBuilder().setName("Deep")
            .addMethod(MethodDescriptorProto.newBuilder().setName("Call")
                .setInputType(".chain.Ping").setOutputType(".chain.Ping")));
      }
      set.addFile(file);
    }
    return set.build();
  }

  @Test
  void rejectsTwoDifferentFilesWithOneName() {
    FileDescriptorSet set = DescriptorFixtures.GREETER_V1.protocSet().toBuilder()
        .addFile(FileDescriptorProto.newBuilder().setName("demo/greeter.proto").setPackage("other"))
        .build();

    assertThatThrownBy(() -> hasher.fingerprint(set, "merged.pb"))
        .isInstanceOf(InvalidDescriptorException.class)
        .hasMessage("merged.pb: file 'demo/greeter.proto' appears twice in the descriptor set with different contents");
  }

  @Test
  void unknownServiceErrorListsTheServicesThatExist() {
    DescriptorSetFingerprint set = hasher.fingerprint(DescriptorFixtures.GREETER_V1.protocSetBytes(), "v1.pb");

    assertThatThrownBy(() -> set.service("demo.Greeter2", "v1.pb"))
        .isInstanceOf(InvalidDescriptorException.class)
        .hasMessage("v1.pb: no service named 'demo.Greeter2' (the descriptor set defines demo.Greeter)");
  }

  @Test
  void invalidInputIsNotCached() {
    assertThatThrownBy(() -> hasher.fingerprint("hello".getBytes(StandardCharsets.UTF_8), "bad.pb"))
        .isInstanceOf(InvalidDescriptorException.class);
    assertThat(hasher.cachedEntries()).isZero();

    hasher.fingerprint(DescriptorFixtures.GREETER_V1.protocSetBytes(), "v1.pb");
    assertThat(hasher.cachedEntries()).isEqualTo(1);
  }

  private static int indexOf(FileDescriptorSet.Builder set, String name) {
    for (int i = 0; i < set.getFileCount(); i++) {
      if (set.getFile(i).getName().equals(name)) {
        return i;
      }
    }
    throw new IllegalArgumentException(name);
  }
}
