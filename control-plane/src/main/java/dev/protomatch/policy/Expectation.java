package dev.protomatch.policy;

import dev.protomatch.descriptor.DescriptorHash;
import dev.protomatch.descriptor.HashLevel;
import java.util.Collections;
import java.util.SortedSet;
import java.util.TreeSet;

/** Which builds of a service qualify for its route. */
public sealed interface Expectation {

  /** Exactly one build: the endpoint's hash at {@code level} must equal {@code hash}. */
  record PinnedHash(HashLevel level, DescriptorHash hash) implements Expectation {}

  /**
   * Any build that has these methods: an endpoint qualifies when its surface is a superset (more methods
   * are fine), so old builds lacking one are excluded and newer builds keep qualifying.
   */
  record RequiredMethods(SortedSet<String> methods) implements Expectation {
    public RequiredMethods {
      methods = Collections.unmodifiableSortedSet(new TreeSet<>(methods));
    }
  }

  /**
   * Follow the newest surface among live endpoints (the api hash first seen most recently): during a
   * rolling upgrade, traffic follows the new build as soon as it appears, and builds with a compatible
   * superset of its methods keep qualifying.
   */
  record Newest() implements Expectation {}
}
