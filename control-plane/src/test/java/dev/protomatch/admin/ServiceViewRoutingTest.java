package dev.protomatch.admin;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** What /v1/services' per-method endpoint lists say about one endpoint, as the status page and command show it. */
class ServiceViewRoutingTest {
  private static final String OLD = "127.0.0.1:50061";
  private static final String NEW = "127.0.0.1:50062";

  @Test
  void anOldBuildBesideANewOneTakesSomeRoutedMethodsOnly() {
    AdminViews.Service service = service(Map.of("SayHello", List.of(OLD, NEW), "SayHelloAgain", List.of(NEW)));

    assertThat(service.methodsRoutedTo(OLD)).containsExactly("SayHello");
    assertThat(service.takesSomeRoutedMethodsOnly(OLD)).isTrue();
    assertThat(service.takesSomeRoutedMethodsOnly(NEW)).isFalse();
  }

  @Test
  void aMethodWhoseCallsFailClosedDoesNotMakeEveryEndpointPartial() {
    AdminViews.Service service = service(Map.of("SayHello", List.of(OLD, NEW), "SayHelloAgain", List.of(NEW),
        "SayHelloAgian", List.of()));

    assertThat(service.takesSomeRoutedMethodsOnly(NEW)).isFalse();
    assertThat(service.takesSomeRoutedMethodsOnly(OLD)).isTrue();
  }

  private static AdminViews.Service service(Map<String, List<String>> methods) {
    return new AdminViews.Service("demo.Greeter", "demo-greeter", null, null, "qualified", List.of(), List.of(),
        methods, "none", List.of());
  }
}
