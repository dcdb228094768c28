package dev.protomatch.descriptor;

import com.google.protobuf.Descriptors.Descriptor;
import com.google.protobuf.Descriptors.EnumDescriptor;
import com.google.protobuf.Descriptors.EnumValueDescriptor;
import com.google.protobuf.Descriptors.FieldDescriptor;
import com.google.protobuf.Descriptors.MethodDescriptor;
import com.google.protobuf.Descriptors.OneofDescriptor;
import com.google.protobuf.Descriptors.ServiceDescriptor;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.Deque;
import java.util.List;
import java.util.Locale;
import java.util.TreeMap;

/**
 * The canonical text of a service, specified in {@code docs/descriptor-hash.md}; its SHA-256 is the
 * descriptor hash.
 *
 * <p>The text is built only from what is invariant across producers (protoc descriptor sets, runtime
 * descriptors, reflection answers): full names, numbers, types and shapes, each list sorted. File names,
 * declaration order, source info, options and {@code json_name} never reach it. Keep this class and the
 * document in step: a test checks the document's vectors against it.
 */
public final class CanonicalForm {
  static final String HEADER = "protomatch-descriptor-hash v1 ";

  private CanonicalForm() {}

  /** The canonical text of {@code service} at {@code level}. */
  public static String of(ServiceDescriptor service, HashLevel level) {
    StringBuilder out = new StringBuilder(256);
    out.append(HEADER).append(level.id()).append('\n');
    out.append("service ").append(service.getFullName()).append('\n');
    List<MethodDescriptor> methods = new ArrayList<>(service.getMethods());
    methods.sort(Comparator.comparing(MethodDescriptor::getName));
    for (MethodDescriptor method : methods) {
      out.append("rpc ").append(method.getName())
          .append(' ').append(method.getInputType().getFullName())
          .append(' ').append(method.getOutputType().getFullName())
          .append(' ').append(signature(method).streamingKind()).append('\n');
    }
    if (level == HashLevel.SCHEMA) {
      appendReachableTypes(service, out);
    }
    return out.toString();
  }

  static MethodSignature signature(MethodDescriptor method) {
    return new MethodSignature(
        method.getName(),
        method.getInputType().getFullName(),
        method.getOutputType().getFullName(),
        method.isClientStreaming(),
        method.isServerStreaming());
  }

  /** Emits every message and enum reachable from the methods, sorted by full name. */
  private static void appendReachableTypes(ServiceDescriptor service, StringBuilder out) {
    // Full name -> descriptor (Descriptor or EnumDescriptor); the TreeMap gives the canonical order.
    TreeMap<String, Object> reachable = new TreeMap<>();
    Deque<Descriptor> pending = new ArrayDeque<>();
    for (MethodDescriptor method : service.getMethods()) {
      enqueue(method.getInputType(), reachable, pending);
      enqueue(method.getOutputType(), reachable, pending);
    }
    while (!pending.isEmpty()) {
      for (FieldDescriptor field : pending.pop().getFields()) {
        FieldDescriptor valueField = field.isMapField() ? field.getMessageType().findFieldByNumber(2) : field;
        switch (valueField.getJavaType()) {
          case MESSAGE -> enqueue(valueField.getMessageType(), reachable, pending);
          case ENUM -> reachable.putIfAbsent(valueField.getEnumType().getFullName(), valueField.getEnumType());
          default -> { }
        }
      }
    }
    for (Object type : reachable.values()) {
      if (type instanceof Descriptor message) {
        appendMessage(message, out);
      } else {
        appendEnum((EnumDescriptor) type, out);
      }
    }
  }

  private static void enqueue(Descriptor message, TreeMap<String, Object> reachable, Deque<Descriptor> pending) {
    if (reachable.putIfAbsent(message.getFullName(), message) == null) {
      pending.push(message);
    }
  }

  private static void appendMessage(Descriptor message, StringBuilder out) {
    out.append("message ").append(message.getFullName()).append('\n');
    List<FieldDescriptor> fields = new ArrayList<>(message.getFields());
    fields.sort(Comparator.comparingInt(FieldDescriptor::getNumber));
    for (FieldDescriptor field : fields) {
      out.append("field ").append(field.getNumber()).append(' ').append(field.getName())
          .append(' ').append(cardinality(field)).append(' ');
      if (field.isMapField()) {
        Descriptor entry = field.getMessageType();
        out.append("map ");
        appendType(entry.findFieldByNumber(1), out);
        out.append(' ');
        appendType(entry.findFieldByNumber(2), out);
      } else {
        appendType(field, out);
      }
      OneofDescriptor oneof = field.getRealContainingOneof();
      if (oneof != null) {
        out.append(" oneof ").append(oneof.getName());
      }
      out.append('\n');
    }
  }

  private static String cardinality(FieldDescriptor field) {
    if (field.isRepeated()) {
      return "repeated";
    }
    if (field.isRequired()) {
      return "required";
    }
    return field.toProto().getProto3Optional() ? "proto3_optional" : "optional";
  }

  private static void appendType(FieldDescriptor field, StringBuilder out) {
    switch (field.getType()) {
      case MESSAGE -> out.append("message ").append(field.getMessageType().getFullName());
      case GROUP -> out.append("group ").append(field.getMessageType().getFullName());
      case ENUM -> out.append("enum ").append(field.getEnumType().getFullName());
      default -> out.append(field.getType().name().toLowerCase(Locale.ROOT));
    }
  }

  private static void appendEnum(EnumDescriptor enumType, StringBuilder out) {
    out.append("enum ").append(enumType.getFullName()).append('\n');
    List<EnumValueDescriptor> values = new ArrayList<>(enumType.getValues());
    values.sort(Comparator.comparingInt(EnumValueDescriptor::getNumber).thenComparing(EnumValueDescriptor::getName));
    for (EnumValueDescriptor value : values) {
      out.append("value ").append(value.getNumber()).append(' ').append(value.getName()).append('\n');
    }
  }
}
