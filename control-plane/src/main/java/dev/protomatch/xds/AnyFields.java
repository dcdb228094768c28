package dev.protomatch.xds;

import com.google.protobuf.Any;
import com.google.protobuf.Descriptors.Descriptor;
import com.google.protobuf.Descriptors.FieldDescriptor;
import java.util.ArrayDeque;
import java.util.Deque;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;

/**
 * Per message type, the fields through which a {@code google.protobuf.Any} can be reached (an Any field, or a
 * message, list or map field whose type can hold one somewhere below), so that finding the typed configs
 * embedded in a resource visits only those fields instead of the whole message tree.
 *
 * <p>Computed once per type from its descriptor and cached in a concurrent map: safe to share between threads.
 */
final class AnyFields {
  private final ConcurrentHashMap<Descriptor, List<FieldDescriptor>> cache = new ConcurrentHashMap<>();

  /** The fields of {@code type} that are, or may lead to, an Any; in declaration order. */
  List<FieldDescriptor> of(Descriptor type) {
    return cache.computeIfAbsent(type, t -> t.getFields().stream()
        .filter(field -> field.getJavaType() == FieldDescriptor.JavaType.MESSAGE)
        .filter(field -> mayHoldAny(field.getMessageType()))
        .toList());
  }

  /** Whether an Any is reachable from {@code type} through message fields (map entries included). */
  private static boolean mayHoldAny(Descriptor type) {
    Set<Descriptor> seen = new HashSet<>();
    Deque<Descriptor> todo = new ArrayDeque<>(List.of(type));
    while (!todo.isEmpty()) {
      Descriptor next = todo.pop();
      if (next.equals(Any.getDescriptor())) {
        return true;
      }
      if (seen.add(next)) {
        for (FieldDescriptor field : next.getFields()) {
          if (field.getJavaType() == FieldDescriptor.JavaType.MESSAGE) {
            todo.push(field.getMessageType());
          }
        }
      }
    }
    return false;
  }
}
