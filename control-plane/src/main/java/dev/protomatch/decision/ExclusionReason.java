package dev.protomatch.decision;

import dev.protomatch.descriptor.DescriptorHash;
import dev.protomatch.descriptor.HashLevel;
import dev.protomatch.probe.ReflectionException;
import java.time.Instant;
import java.util.Collections;
import java.util.SortedMap;
import java.util.SortedSet;
import java.util.TreeMap;
import java.util.TreeSet;

/**
 * Why an endpoint takes no traffic for a service. {@link #code()} is stable for metrics labels and JSON;
 * {@link #describe()} is for operators and names the specifics (which methods, which hashes).
 */
public sealed interface ExclusionReason {

  String code();

  String describe();

  /** The endpoint stopped renewing its lease (crashed, killed, partitioned). */
  record LeaseExpired(Instant expiredAt) implements ExclusionReason {
    public String code() {
      return "lease_expired";
    }

    public String describe() {
      return "lease expired at " + expiredAt;
    }
  }

  /** The route pins one build and this endpoint serves another. */
  record HashMismatch(HashLevel level, DescriptorHash expected, DescriptorHash actual) implements ExclusionReason {
    public String code() {
      return "hash_mismatch";
    }

    public String describe() {
      return "hash mismatch: expected " + level.id() + " " + expected + ", got " + actual;
    }
  }

  /** The build lacks methods the route needs: calls to them would get UNIMPLEMENTED. */
  record MissingMethods(SortedSet<String> methods) implements ExclusionReason {
    public MissingMethods {
      methods = Collections.unmodifiableSortedSet(new TreeSet<>(methods));
    }

    public String code() {
      return "missing_methods";
    }

    public String describe() {
      return "missing methods [" + String.join(", ", methods) + "]";
    }
  }

  /** The build has the methods, but with other request/response types or streaming shape. */
  record IncompatibleMethods(SortedMap<String, String> differences) implements ExclusionReason {
    public IncompatibleMethods {
      differences = Collections.unmodifiableSortedMap(new TreeMap<>(differences));
    }

    public String code() {
      return "incompatible_methods";
    }

    public String describe() {
      StringBuilder out = new StringBuilder("incompatible methods [");
      differences.forEach((method, difference) ->
          out.append(out.length() > "incompatible methods [".length() ? "; " : "").append(method).append(": ")
              .append(difference));
      return out.append(']').toString();
    }
  }

  /** Reflection could not be asked (timeout, unreachable, malformed answer). */
  record ProbeFailed(ReflectionException.Kind kind, String message) implements ExclusionReason {
    public String code() {
      return "probe_failed";
    }

    public String describe() {
      return "probe failed: " + message;
    }
  }

  /**
   * The endpoint has no reflection and nothing else tells what it serves: a static endpoint (known only through
   * its reflection), or a registration under {@code without-reflection: exclude}.
   */
  record ReflectionUnavailable(String message, boolean staticEndpoint) implements ExclusionReason {
    public String code() {
      return "reflection_unavailable";
    }

    public String describe() {
      return "no reflection (" + message + ") and " + (staticEndpoint
          ? "a static endpoint is known only through its reflection"
          : "the policy takes only probed endpoints (without-reflection: exclude)");
    }
  }

  /** Nothing is known yet: the first probe has not finished. */
  record AwaitingProbe() implements ExclusionReason {
    public String code() {
      return "awaiting_probe";
    }

    public String describe() {
      return "awaiting first reflection probe";
    }
  }

  /** What the endpoint advertised and what its reflection says disagree: it cannot be trusted. */
  record Quarantined(String detail) implements ExclusionReason {
    public String code() {
      return "quarantined";
    }

    public String describe() {
      return "quarantined: " + detail;
    }
  }

  /** The route needs the method surface, but the endpoint advertised only hashes and was not probed. */
  record UnknownSurface(String detail) implements ExclusionReason {
    public String code() {
      return "unknown_surface";
    }

    public String describe() {
      return "method surface unknown: " + detail;
    }
  }
}
