package dev.protomatch.registry;

import dev.protomatch.descriptor.ServiceFingerprint;
import dev.protomatch.probe.ReflectionException;
import dev.protomatch.probe.ReflectionProtocol;
import java.time.Instant;
import java.util.Collections;
import java.util.SortedMap;
import java.util.TreeMap;

/** The outcome of the last reflection probe of an endpoint. */
public sealed interface ProbeState {
  NotProbed NOT_PROBED = new NotProbed();

  /** No probe has finished yet. */
  record NotProbed() implements ProbeState {}

  /** Reflection answered; {@code services} holds every service it lists, reflection itself excluded. */
  record Probed(Instant at, ReflectionProtocol protocol, SortedMap<String, ServiceFingerprint> services)
      implements ProbeState {
    public Probed {
      services = Collections.unmodifiableSortedMap(new TreeMap<>(services));
    }
  }

  /** The last probe failed; {@code consecutiveFailures} drives the backoff. */
  record Failed(Instant at, ReflectionException.Kind kind, String message, int consecutiveFailures)
      implements ProbeState {}
}
