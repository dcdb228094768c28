package dev.protomatch.descriptor;

import static org.assertj.core.api.Assertions.assertThat;

import com.google.protobuf.DescriptorProtos.DescriptorProto;
import com.google.protobuf.DescriptorProtos.FieldDescriptorProto;
import com.google.protobuf.DescriptorProtos.FileDescriptorProto;
import com.google.protobuf.DescriptorProtos.FileDescriptorSet;
import com.google.protobuf.DescriptorProtos.MethodDescriptorProto;
import dev.protomatch.testing.DescriptorFixtures;
import dev.protomatch.testing.DescriptorFixtures.Fixture;
import java.util.function.Consumer;
import org.junit.jupiter.api.Test;

/**
 * Each hash must change exactly when its level says: {@code api} when a caller could get UNIMPLEMENTED,
 * {@code schema} also when a reachable message changes on the wire; neither for anything unreachable.
 */
class DescriptorHashSensitivityTest {
  private static final String CATALOG_SERVICE_FILE = "catalog/v1/catalog_service.proto";
  private static final String CATALOG_TYPES_FILE = "catalog/v1/types.proto";

  private final DescriptorHasher hasher = new DescriptorHasher();

  @Test
  void addingMethodChangesApiAndMakesV1HashLikeV2() {
    ServiceFingerprint v1PlusMethod = fingerprint(DescriptorFixtures.GREETER_V1, "demo/greeter.proto",
        file -> file.getServiceBuilder(0).addMethod(MethodDescriptorProto.newBuilder()
            .setName("SayHelloAgain").setInputType(".demo.HelloRequest").setOutputType(".demo.HelloReply")));

    assertThat(v1PlusMethod.api()).isNotEqualTo(original(DescriptorFixtures.GREETER_V1).api());
    assertThat(v1PlusMethod).isEqualTo(original(DescriptorFixtures.GREETER_V2));
  }

  @Test
  void removingMethodChangesApi() {
    assertApiAndSchemaChange(CATALOG_SERVICE_FILE, file -> file.getServiceBuilder(0).removeMethod(0));
  }

  @Test
  void changingRequestTypeChangesApi() {
    assertApiAndSchemaChange(CATALOG_SERVICE_FILE,
        file -> method(file, "GetItem").setInputType(".catalog.v1.ListItemsRequest"));
  }

  @Test
  void changingResponseTypeChangesApi() {
    assertApiAndSchemaChange(CATALOG_SERVICE_FILE,
        file -> method(file, "ImportItems").setOutputType(".catalog.v1.Item"));
  }

  @Test
  void makingUnaryMethodClientStreamingChangesApi() {
    assertApiAndSchemaChange(CATALOG_SERVICE_FILE, file -> method(file, "GetItem").setClientStreaming(true));
  }

  @Test
  void makingServerStreamingMethodUnaryChangesApi() {
    assertApiAndSchemaChange(CATALOG_SERVICE_FILE, file -> method(file, "ListItems").setServerStreaming(false));
  }

  @Test
  void changingFieldTypeChangesSchemaNotApi() {
    assertOnlySchemaChanges(CATALOG_TYPES_FILE,
        file -> field(file, "Money", "units").setType(FieldDescriptorProto.Type.TYPE_UINT64));
  }

  @Test
  void changingFieldNumberChangesSchemaNotApi() {
    assertOnlySchemaChanges(CATALOG_TYPES_FILE, file -> field(file, "Money", "units").setNumber(20));
  }

  @Test
  void renamingFieldChangesSchemaNotApi() {
    assertOnlySchemaChanges(CATALOG_TYPES_FILE, file -> field(file, "Money", "units").setName("whole_units"));
  }

  @Test
  void makingFieldRepeatedChangesSchemaNotApi() {
    assertOnlySchemaChanges(CATALOG_TYPES_FILE,
        file -> field(file, "Item", "title").setLabel(FieldDescriptorProto.Label.LABEL_REPEATED));
  }

  @Test
  void movingFieldOutOfOneofChangesSchemaNotApi() {
    assertOnlySchemaChanges(CATALOG_TYPES_FILE, file -> field(file, "Item", "percent_off").clearOneofIndex());
  }

  @Test
  void addingEnumValueChangesSchemaNotApi() {
    assertOnlySchemaChanges(CATALOG_TYPES_FILE, file -> file.getEnumTypeBuilder(0)
        .addValue(file.getEnumType(0).getValue(1).toBuilder().setName("DISCONTINUED").setNumber(3)));
  }

  @Test
  void changingMapValueTypeChangesSchemaNotApi() {
    assertOnlySchemaChanges(CATALOG_TYPES_FILE, file -> {
      DescriptorProto.Builder entry = message(file, "Item").getNestedTypeBuilderList().stream()
          .filter(nested -> nested.getName().equals("AttributesEntry")).findFirst().orElseThrow();
      entry.getFieldBuilder(1).setType(FieldDescriptorProto.Type.TYPE_BYTES);
    });
  }

  @Test
  void changingImportedWellKnownTypeReachableFromMethodChangesSchema() {
    ServiceFingerprint changed = fingerprint(DescriptorFixtures.CATALOG_LAYOUT_A, "google/protobuf/timestamp.proto",
        file -> file.getMessageTypeBuilder(0).getFieldBuilder(1).setType(FieldDescriptorProto.Type.TYPE_INT64));

    assertThat(changed.schema()).isNotEqualTo(original(DescriptorFixtures.CATALOG_LAYOUT_A).schema());
  }

  @Test
  void addingUnreachableMessageChangesNothing() {
    ServiceFingerprint changed = fingerprint(DescriptorFixtures.CATALOG_LAYOUT_A, CATALOG_TYPES_FILE,
        file -> file.addMessageType(DescriptorProto.newBuilder().setName("Unused")
            .addField(FieldDescriptorProto.newBuilder().setName("x").setNumber(1)
                .setType(FieldDescriptorProto.Type.TYPE_STRING)
                .setLabel(FieldDescriptorProto.Label.LABEL_OPTIONAL))));

    assertThat(changed).isEqualTo(original(DescriptorFixtures.CATALOG_LAYOUT_A));
  }

  private void assertApiAndSchemaChange(String fileName, Consumer<FileDescriptorProto.Builder> change) {
    ServiceFingerprint before = original(DescriptorFixtures.CATALOG_LAYOUT_A);
    ServiceFingerprint after = fingerprint(DescriptorFixtures.CATALOG_LAYOUT_A, fileName, change);

    assertThat(after.api()).isNotEqualTo(before.api());
    assertThat(after.schema()).isNotEqualTo(before.schema());
  }

  private void assertOnlySchemaChanges(String fileName, Consumer<FileDescriptorProto.Builder> change) {
    ServiceFingerprint before = original(DescriptorFixtures.CATALOG_LAYOUT_A);
    ServiceFingerprint after = fingerprint(DescriptorFixtures.CATALOG_LAYOUT_A, fileName, change);

    assertThat(after.api()).isEqualTo(before.api());
    assertThat(after.schema()).isNotEqualTo(before.schema());
  }

  private ServiceFingerprint original(Fixture fixture) {
    return hasher.fingerprint(fixture.protocSet(), fixture.name()).service(fixture.service(), fixture.name());
  }

  private ServiceFingerprint fingerprint(Fixture fixture, String fileName, Consumer<FileDescriptorProto.Builder> change) {
    FileDescriptorSet.Builder set = fixture.protocSet().toBuilder();
    FileDescriptorProto.Builder file = set.getFileBuilderList().stream()
        .filter(f -> f.getName().equals(fileName)).findFirst().orElseThrow();
    change.accept(file);
    return hasher.fingerprint(set.build(), fixture.name()).service(fixture.service(), fixture.name());
  }

  private static MethodDescriptorProto.Builder method(FileDescriptorProto.Builder file, String name) {
    return file.getServiceBuilder(0).getMethodBuilderList().stream()
        .filter(m -> m.getName().equals(name)).findFirst().orElseThrow();
  }

  private static DescriptorProto.Builder message(FileDescriptorProto.Builder file, String name) {
    return file.getMessageTypeBuilderList().stream()
        .filter(m -> m.getName().equals(name)).findFirst().orElseThrow();
  }

  private static FieldDescriptorProto.Builder field(FileDescriptorProto.Builder file, String message, String name) {
    return message(file, message).getFieldBuilderList().stream()
        .filter(f -> f.getName().equals(name)).findFirst().orElseThrow();
  }
}
