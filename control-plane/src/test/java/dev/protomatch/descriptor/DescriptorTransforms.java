package dev.protomatch.descriptor;

import com.google.protobuf.DescriptorProtos.DescriptorProto;
import com.google.protobuf.DescriptorProtos.FileDescriptorProto;
import com.google.protobuf.DescriptorProtos.MessageOptions;
import com.google.protobuf.DescriptorProtos.FileDescriptorSet;
import com.google.protobuf.Descriptors.FieldDescriptor;
import com.google.protobuf.Message;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Set;
import java.util.function.UnaryOperator;

/**
 * Rewrites of descriptor sets that must not change any hash: what different producers, build layouts and
 * harmless edits do to descriptors. Written generically over the descriptor messages so each transform
 * reaches every nesting level.
 */
final class DescriptorTransforms {
  private DescriptorTransforms() {}

  /** Moves every file to another path, keeping imports pointing at the moved files. */
  static FileDescriptorSet renameFiles(FileDescriptorSet set) {
    UnaryOperator<String> rename = name -> "elsewhere/" + name.replace('/', '_').replace(".proto", "_moved.proto");
    FileDescriptorSet.Builder out = FileDescriptorSet.newBuilder();
    for (FileDescriptorProto file : set.getFileList()) {
      FileDescriptorProto.Builder moved = file.toBuilder().setName(rename.apply(file.getName())).clearDependency();
      file.getDependencyList().forEach(dependency -> moved.addDependency(rename.apply(dependency)));
      out.addFile(moved);
    }
    return out.build();
  }

  /**
   * Reverses the declaration order of files, services, methods, messages (top-level and nested), enums and
   * fields. Lists that other fields index into (dependency, oneof_decl) and enum values (proto3 wants the
   * zero value first) keep their order.
   */
  static FileDescriptorSet reverseDeclarationOrder(FileDescriptorSet set) {
    return (FileDescriptorSet) rewrite(set, Set.of("file", "service", "method", "message_type", "nested_type",
        "enum_type", "field"), Set.of());
  }

  /**
   * Removes source info (comments, spans) and every option at every level, except {@code map_entry}: that
   * one is structure, not decoration (it is how a descriptor says "this field is a map").
   */
  static FileDescriptorSet stripSourceInfoAndOptions(FileDescriptorSet set) {
    return (FileDescriptorSet) visit(set, message -> {
      Message.Builder builder = message.toBuilder();
      for (FieldDescriptor field : message.getDescriptorForType().getFields()) {
        if (field.getName().equals("source_code_info") || field.getName().equals("options")) {
          builder.clearField(field);
        }
      }
      if (message instanceof DescriptorProto type && type.getOptions().getMapEntry()) {
        ((DescriptorProto.Builder) builder).setOptions(MessageOptions.newBuilder().setMapEntry(true));
      }
      return builder.build();
    });
  }

  /** Removes source info only. */
  static FileDescriptorSet stripSourceInfo(FileDescriptorSet set) {
    return (FileDescriptorSet) rewrite(set, Set.of(), Set.of("source_code_info"));
  }

  /** Sets json_name on every field (some producers always fill it, others never do). */
  static FileDescriptorSet withJsonNames(FileDescriptorSet set) {
    return mapFields(set, field -> field.setJsonName("custom_" + field.getName()));
  }

  /** Clears json_name on every field. */
  static FileDescriptorSet withoutJsonNames(FileDescriptorSet set) {
    return mapFields(set, field -> field.clearJsonName());
  }

  private static FileDescriptorSet mapFields(
      FileDescriptorSet set,
      UnaryOperator<com.google.protobuf.DescriptorProtos.FieldDescriptorProto.Builder> change) {
    return (FileDescriptorSet) visit(set, message -> {
      if (message instanceof com.google.protobuf.DescriptorProtos.FieldDescriptorProto field) {
        return change.apply(field.toBuilder()).build();
      }
      return message;
    });
  }

  private static Message rewrite(Message message, Set<String> reversed, Set<String> removed) {
    return visit(message, m -> {
      Message.Builder builder = m.toBuilder();
      for (FieldDescriptor field : m.getDescriptorForType().getFields()) {
        if (removed.contains(field.getName())) {
          builder.clearField(field);
        } else if (field.isRepeated() && reversed.contains(field.getName())) {
          List<Object> values = new ArrayList<>((List<?>) m.getField(field));
          Collections.reverse(values);
          builder.setField(field, values);
        }
      }
      return builder.build();
    });
  }

  /** Applies {@code change} bottom-up to every message nested in {@code message}, then to it. */
  private static Message visit(Message message, UnaryOperator<Message> change) {
    Message.Builder builder = message.toBuilder();
    for (FieldDescriptor field : message.getDescriptorForType().getFields()) {
      if (field.getJavaType() != FieldDescriptor.JavaType.MESSAGE) {
        continue;
      }
      if (field.isRepeated()) {
        List<Object> values = new ArrayList<>();
        for (Object value : (List<?>) message.getField(field)) {
          values.add(visit((Message) value, change));
        }
        builder.setField(field, values);
      } else if (message.hasField(field)) {
        builder.setField(field, visit((Message) message.getField(field), change));
      }
    }
    return change.apply(builder.build());
  }
}
