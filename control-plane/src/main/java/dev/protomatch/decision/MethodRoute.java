package dev.protomatch.decision;

import dev.protomatch.descriptor.DescriptorHash;
import dev.protomatch.descriptor.MethodSignature;
import java.util.Collections;
import java.util.Optional;
import java.util.SortedSet;
import java.util.TreeSet;

/**
 * Where calls to one method of a service go: to the endpoints of exactly these builds, every one of which
 * serves the method with {@code signature}. No builds means the method fails closed (UNAVAILABLE).
 *
 * @param signature the signature callers are routed by; empty when no admitted build serves the method
 *     (a required method nobody has yet)
 * @param builds api hashes of the builds that take the method's calls
 */
public record MethodRoute(String method, Optional<MethodSignature> signature, SortedSet<DescriptorHash> builds) {
  public MethodRoute {
    builds = Collections.unmodifiableSortedSet(new TreeSet<>(builds));
  }

  public static MethodRoute unserved(String method) {
    return new MethodRoute(method, Optional.empty(), new TreeSet<>());
  }
}
