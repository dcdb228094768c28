package dev.protomatch.demo;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.protomatch.demo.v3.GreeterGrpc;
import dev.protomatch.demo.v3.HelloRequest;
import dev.protomatch.descriptor.DescriptorHasher;
import dev.protomatch.descriptor.ServiceFingerprint;
import dev.protomatch.testing.DescriptorFixtures;
import dev.protomatch.testing.LoopbackServer;
import dev.protomatch.testing.LoopbackServer.Reflection;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import java.util.Set;
import org.junit.jupiter.api.Test;

/**
 * The demo builds as a v3 client (the chaos test's client) sees them over a real loopback server, and the
 * surfaces protomatch fingerprints for them: v1 < v2 < v3 in methods, v2x beside v2 with one signature changed.
 */
class DemoGreetersTest {
  private static final HelloRequest REQUEST = HelloRequest.newBuilder().setName("test").build();

  @Test
  void v3AnswersAllThreeMethodsNamingInstanceAndBuild() {
    try (LoopbackServer server = LoopbackServer.start(Reflection.NONE, DemoGreeters.v3("a"))) {
      GreeterGrpc.GreeterBlockingStub stub = GreeterGrpc.newBlockingStub(server.channel());
      assertThat(stub.sayHello(REQUEST).getMessage()).isEqualTo("Hello test from a (v3)");
      assertThat(stub.sayHelloAgain(REQUEST).getMessage()).isEqualTo("Hello again test from a (v3)");
      assertThat(stub.sayGoodbye(REQUEST).getMessage()).isEqualTo("Goodbye test from a (v3)");
    }
  }

  @Test
  void v2xRejectsAnotherBuildsSayHelloAgainRequestAndServesItsOwn() {
    try (LoopbackServer server = LoopbackServer.start(Reflection.NONE, DemoGreeters.v2x("x"))) {
      GreeterGrpc.GreeterBlockingStub v3Client = GreeterGrpc.newBlockingStub(server.channel());
      assertThat(v3Client.sayHello(REQUEST).getMessage()).isEqualTo("Hello test from x (v2x)");
      assertThatThrownBy(() -> v3Client.sayHelloAgain(REQUEST))
          .isInstanceOfSatisfying(StatusRuntimeException.class,
              e -> assertThat(e.getStatus().getCode()).isEqualTo(Status.Code.INVALID_ARGUMENT));
      assertThatThrownBy(() -> v3Client.sayGoodbye(REQUEST))
          .isInstanceOfSatisfying(StatusRuntimeException.class,
              e -> assertThat(e.getStatus().getCode()).isEqualTo(Status.Code.UNIMPLEMENTED));

      var own = dev.protomatch.demo.v2x.GreeterGrpc.newBlockingStub(server.channel());
      assertThat(own.sayHelloAgain(dev.protomatch.demo.v2x.HelloAgainRequest.newBuilder()
          .setGreetingName("test").setTimes(2).build()).getMessage()).isEqualTo("Hello again test (x2) from x (v2x)");
    }
  }

  @Test
  void surfacesAreNestedExceptV2xWhoseSayHelloAgainHasAnotherSignature() {
    ServiceFingerprint v1 = fingerprint("v1", "descriptors/demo-greeter-v1.pb");
    ServiceFingerprint v2 = fingerprint("v2", "descriptors/demo-greeter-v2.pb");
    ServiceFingerprint v2x = fingerprint("v2x", "descriptors/demo-greeter-v2x.pb");
    ServiceFingerprint v3 = fingerprint("v3", "descriptors/demo-greeter-v3.pb");

    assertThat(v1.methods()).containsOnlyKeys("SayHello");
    assertThat(v2.methods()).containsOnlyKeys("SayHello", "SayHelloAgain");
    assertThat(v3.methods()).containsOnlyKeys("SayHello", "SayHelloAgain", "SayGoodbye");
    assertThat(v2x.methods()).containsOnlyKeys("SayHello", "SayHelloAgain");
    assertThat(v3.methods().get("SayHelloAgain")).isEqualTo(v2.methods().get("SayHelloAgain"));
    assertThat(v2x.methods().get("SayHelloAgain")).isNotEqualTo(v2.methods().get("SayHelloAgain"));
    assertThat(v2x.methods().get("SayHello")).isEqualTo(v1.methods().get("SayHello"));
    assertThat(Set.of(v1.api(), v2.api(), v2x.api(), v3.api())).hasSize(4);
    // The runtime descriptors the greeter process registers give the same surface as protoc's output.
    assertThat(DescriptorHasher.fingerprint(dev.protomatch.demo.v3.GreeterProto.getDescriptor()
        .findServiceByName("Greeter")).api()).isEqualTo(v3.api());
    assertThat(DescriptorHasher.fingerprint(dev.protomatch.demo.v2x.GreeterProto.getDescriptor()
        .findServiceByName("Greeter")).api()).isEqualTo(v2x.api());
  }

  private static ServiceFingerprint fingerprint(String name, String resource) {
    return new DescriptorHasher().fingerprint(DescriptorFixtures.loadSet(resource), name).service("demo.Greeter", name);
  }
}
