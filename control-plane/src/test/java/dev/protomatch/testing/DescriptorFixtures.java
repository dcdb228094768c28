package dev.protomatch.testing;

import com.google.protobuf.DescriptorProtos.FileDescriptorSet;
import com.google.protobuf.Descriptors.FileDescriptor;
import com.google.protobuf.InvalidProtocolBufferException;
import dev.protomatch.descriptor.RuntimeDescriptors;
import io.grpc.BindableService;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.util.List;
import java.util.function.Supplier;

/**
 * The services every descriptor test runs against, each available from three real producers: the
 * descriptor set protoc wrote during the build, the generated classes' runtime descriptors, and a
 * grpc-java server (see {@link LoopbackServer}) that reflection can ask.
 */
public final class DescriptorFixtures {
  private DescriptorFixtures() {}

  /** One test service as one build implements it. */
  public record Fixture(
      String name, String service, String protocResource, FileDescriptor runtimeFile,
      Supplier<BindableService> implementation) {

    public FileDescriptorSet protocSet() {
      return loadSet(protocResource);
    }

    public byte[] protocSetBytes() {
      return protocSet().toByteArray();
    }

    public FileDescriptorSet runtimeSet() {
      return RuntimeDescriptors.fileDescriptorSet(runtimeFile);
    }

    @Override
    public String toString() {
      return name;
    }
  }

  public static final Fixture GREETER_V1 = new Fixture(
      "demo.Greeter v1", "demo.Greeter", "descriptors/demo-greeter-v1.pb",
      dev.protomatch.demo.v1.GreeterProto.getDescriptor(),
      () -> new dev.protomatch.demo.v1.GreeterGrpc.GreeterImplBase() {});

  public static final Fixture GREETER_V2 = new Fixture(
      "demo.Greeter v2", "demo.Greeter", "descriptors/demo-greeter-v2.pb",
      dev.protomatch.demo.v2.GreeterProto.getDescriptor(),
      () -> new dev.protomatch.demo.v2.GreeterGrpc.GreeterImplBase() {});

  public static final Fixture CATALOG_LAYOUT_A = new Fixture(
      "catalog layout A", "catalog.v1.CatalogService", "descriptors/catalog-layout-a.pb",
      dev.protomatch.testing.layouta.GetItemRequest.getDescriptor().getFile(),
      () -> new dev.protomatch.testing.layouta.CatalogServiceGrpc.CatalogServiceImplBase() {});

  public static final Fixture CATALOG_LAYOUT_B = new Fixture(
      "catalog layout B", "catalog.v1.CatalogService", "descriptors/catalog-layout-b.pb",
      dev.protomatch.testing.layoutb.EverythingProto.getDescriptor(),
      () -> new dev.protomatch.testing.layoutb.CatalogServiceGrpc.CatalogServiceImplBase() {});

  public static final Fixture REGISTRATION_API = new Fixture(
      "protomatch.v1.Registration", "protomatch.v1.Registration", "descriptors/protomatch-v1.pb",
      dev.protomatch.api.v1.RegistrationProto.getDescriptor(),
      () -> new dev.protomatch.api.v1.RegistrationGrpc.RegistrationImplBase() {});

  public static List<Fixture> all() {
    return List.of(GREETER_V1, GREETER_V2, CATALOG_LAYOUT_A, CATALOG_LAYOUT_B, REGISTRATION_API);
  }

  /** A descriptor set written by protoc during the build, from the test classpath. */
  public static FileDescriptorSet loadSet(String resource) {
    try (InputStream in = DescriptorFixtures.class.getClassLoader().getResourceAsStream(resource)) {
      if (in == null) {
        throw new IllegalStateException("no resource " + resource + " on the test classpath (was the build run?)");
      }
      return FileDescriptorSet.parseFrom(in);
    } catch (InvalidProtocolBufferException e) {
      throw new IllegalStateException(resource + " is not a descriptor set", e);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }
}
