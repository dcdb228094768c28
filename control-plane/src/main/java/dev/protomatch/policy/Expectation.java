package dev.protomatch.policy;

import dev.protomatch.descriptor.DescriptorHash;
import dev.protomatch.descriptor.HashLevel;
import java.util.Collections;
import java.util.SortedSet;
import java.util.TreeSet;

/** Which builds of a service qualify for its route. */
public sealed interface Expectation {

  /** Exactly one build: the endpoint's hash at {@code level} must equal {@code hash}, for every method. */
  record PinnedHash(HashLevel level, DescriptorHash hash) implements Expectation {}

  /**
   * Any build that has these methods: an endpoint qualifies when its surface is a superset (more methods
   * are fine), so old builds lacking one take no calls and newer builds keep qualifying.
   */
  record RequiredMethods(SortedSet<String> methods) implements Expectation {
    public RequiredMethods {
      methods = Collections.unmodifiableSortedSet(new TreeSet<>(methods));
    }
  }

  /**
   * Every build qualifies; each method goes to the builds serving it, and where builds disagree on a
   * method's signature the newest decides (more methods is newer; see the decision's build order). During a
   * rolling upgrade new methods go to the new build as soon as it appears.
   */
  record Newest() implements Expectation {}
}
