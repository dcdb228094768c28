package dev.protomatch.util;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatCode;

import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

class ListenersTest {
  private final Listeners<String> listeners = new Listeners<>("test event");
  private final List<String> heard = new ArrayList<>();

  @Test
  void listenersHearEachEventInTheOrderTheyWereAdded() {
    listeners.add(e -> heard.add("first " + e));
    listeners.add(e -> heard.add("second " + e));

    listeners.announce("a");

    assertThat(heard).containsExactly("first a", "second a");
  }

  @Test
  void aListenerThatThrowsDoesNotKeepTheOthersFromHearingNorFailTheAnnouncer() {
    listeners.add(e -> {
      throw new IllegalStateException("listener bug");
    });
    listeners.add(e -> heard.add(e));

    assertThatCode(() -> listeners.announce("a")).doesNotThrowAnyException();
    assertThat(heard).containsExactly("a");
  }

  @Test
  void aListenerAddedWhileAnEventIsAnnouncedHearsTheNextOne() {
    listeners.add(e -> listeners.add(later -> heard.add("late " + later)));

    listeners.announce("a");
    listeners.announce("b");

    assertThat(heard).containsExactly("late b");
  }

  @Test
  void signalsReachRunnables() {
    Listeners<Void> signals = new Listeners<>("signal");
    signals.add(() -> heard.add("signalled"));

    signals.signal();

    assertThat(heard).containsExactly("signalled");
  }
}
