package dev.protomatch.xds;

import static org.assertj.core.api.Assertions.assertThat;

import com.google.protobuf.Descriptors.Descriptor;
import com.google.protobuf.Descriptors.FieldDescriptor;
import com.google.protobuf.Message;
import io.envoyproxy.envoy.config.cluster.v3.Cluster;
import io.envoyproxy.envoy.config.endpoint.v3.ClusterLoadAssignment;
import io.envoyproxy.envoy.config.listener.v3.Listener;
import io.envoyproxy.envoy.config.route.v3.RouteConfiguration;
import io.envoyproxy.pgv.ReflectiveValidatorIndex;
import io.envoyproxy.pgv.ValidationException;
import io.envoyproxy.pgv.Validator;
import io.envoyproxy.pgv.ValidatorIndex;
import io.envoyproxy.pgv.validate.Validate;
import java.util.ArrayDeque;
import java.util.Deque;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;

/**
 * protoc-gen-validate's runtime treats a message without a generated validator as valid, silently. So every
 * message type reachable from what protomatch publishes (and from the typed configs it embeds) that carries
 * rules of its own must have one: the list of .proto files in envoy-validation/pom.xml must stay the closure of
 * those types' imports. (Rule-less messages need none: protoc-gen-validate generates nothing for a file that
 * does not import validate.proto, and EnvoyRulesPreflight walks through such messages.)
 */
class EnvoyRulesCoverageTest {

  @Test
  void everyReachableEnvoyMessageHasAGeneratedValidator() {
    Set<Class<?>> missing = new HashSet<>();
    ValidatorIndex recording = new ReflectiveValidatorIndex(new ValidatorIndex() {
      @Override
      @SuppressWarnings({"unchecked", "rawtypes"})
      public <T> Validator<T> validatorFor(Class type) {
        missing.add(type);
        return Validator.ALWAYS_VALID;
      }
    });
    Map<String, Message> reachable = reachable(Stream.concat(
        Stream.of(Cluster.getDefaultInstance(), ClusterLoadAssignment.getDefaultInstance(),
            Listener.getDefaultInstance(), RouteConfiguration.getDefaultInstance()),
        EnvoyRulesPreflight.EMBEDDED_TYPES.values().stream()).toList());

    TreeMap<String, String> gaps = new TreeMap<>(); // message -> the .proto file to add
    int validated = 0;
    for (Message type : reachable.values()) {
      try {
        recording.validatorFor(type).assertValid(type);
      } catch (ValidationException brokenDefault) {
        // a validator ran: a default instance need not keep the rules
      } catch (NullPointerException noValidatorForThisNestedType) {
        missing.add(type.getClass());
      }
      if (!missing.remove(type.getClass())) {
        validated++;
      } else if (hasOwnRules(type)) {
        gaps.put(type.getDescriptorForType().getFullName(), type.getDescriptorForType().getFile().getName());
      }
    }

    assertThat(validated).as("message types with a generated validator").isGreaterThan(200);
    assertThat(gaps).as("messages with rules but no validator (add their files to envoy-validation/pom.xml)")
        .isEmpty();
  }

  private static boolean hasOwnRules(Message type) {
    Descriptor descriptor = type.getDescriptorForType();
    return descriptor.getFields().stream().anyMatch(field -> field.getOptions().hasExtension(Validate.rules))
        || descriptor.getOneofs().stream().anyMatch(oneof -> oneof.getOptions().getExtension(Validate.required));
  }

  /** Every non-well-known message type reachable through fields (map values included), by full name. */
  private static Map<String, Message> reachable(List<Message> roots) {
    Map<String, Message> seen = new TreeMap<>();
    Deque<Message> todo = new ArrayDeque<>(roots);
    while (!todo.isEmpty()) {
      Message type = todo.pop();
      String name = type.getDescriptorForType().getFullName();
      if (name.startsWith("google.protobuf.") || seen.putIfAbsent(name, type) != null) {
        continue;
      }
      for (FieldDescriptor field : type.getDescriptorForType().getFields()) {
        if (field.getJavaType() != FieldDescriptor.JavaType.MESSAGE) {
          continue;
        }
        Message child = type.newBuilderForType().newBuilderForField(field).getDefaultInstanceForType();
        if (field.isMapField()) {
          FieldDescriptor value = field.getMessageType().findFieldByName("value");
          if (value.getJavaType() == FieldDescriptor.JavaType.MESSAGE) {
            todo.push((Message) child.getField(value));
          }
        } else {
          todo.push(child);
        }
      }
    }
    return seen;
  }

  @Test
  void theWalkSeesNestedTypesAndTypesOfOtherFiles() {
    Set<String> names = new TreeSet<>(reachable(List.of(Cluster.getDefaultInstance())).keySet());

    assertThat(names).contains("envoy.config.cluster.v3.Cluster.CommonLbConfig.ZoneAwareLbConfig",
        "envoy.config.endpoint.v3.LbEndpoint", "envoy.config.core.v3.SocketAddress");
  }
}
