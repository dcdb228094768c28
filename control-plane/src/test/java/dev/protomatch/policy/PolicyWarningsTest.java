package dev.protomatch.policy;

import static dev.protomatch.policy.PolicyFixtures.parse;
import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

class PolicyWarningsTest {
  @Test
  void twoRequiredMethodsALetterSwapApartAreTakenForAMisspelling() {
    PolicyDocument document = parse("""
        services:
          - service: demo.Greeter
            cluster: demo-greeter
            expect: {methods: [SayHello, SayHelloAgain, SayHelloAgian]}
        """);

    assertThat(PolicyWarnings.of(document)).containsExactly("services[0] (demo.Greeter): required methods"
        + " SayHelloAgain and SayHelloAgian differ by a letter or two; is one of them misspelt?");
  }

  @Test
  void shortOrDistinctNamesAreNotWarnedAbout() {
    PolicyDocument document = parse("""
        services:
          - service: demo.Store
            cluster: demo-store
            expect: {methods: [Get, Set, ListItems, DeleteItem, CreateItem]}
        """);

    assertThat(PolicyWarnings.of(document)).isEmpty();
  }

  @Test
  void distanceCountsASwapOfNeighboursAsOneEdit() {
    assertThat(PolicyWarnings.distance("SayHelloAgain", "SayHelloAgian")).isEqualTo(1);
    assertThat(PolicyWarnings.distance("CreateItem", "DeleteItem")).isEqualTo(4);
  }
}
