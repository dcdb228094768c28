package dev.protomatch.cli;

import dev.protomatch.admin.AdminViews;
import dev.protomatch.policy.PolicyDocument;
import dev.protomatch.policy.PolicyError;
import dev.protomatch.policy.PolicyLocations.MethodMention;
import dev.protomatch.policy.ServicePolicy;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.SortedSet;
import java.util.TreeMap;
import java.util.TreeSet;

/**
 * For {@code protomatch validate --against}: each method a policy file names ({@code expect.methods},
 * {@code retries.without-retries}) that no live endpoint of its service serves, as a positioned message naming
 * the live builds and the methods each serves. Live: every endpoint of {@code /v1/endpoints} whose lease has not
 * expired (static endpoints have none). A build is known by its probed api hash, else its advertised one; an
 * endpoint whose methods are not known (hashes only, not probed yet) serves nothing here and is counted apart.
 * Pure.
 */
final class UnservedMethodWarnings {
  private UnservedMethodWarnings() {}

  /**
   * The warnings, in the order of {@code mentions} (located in {@code document}); {@code admin} is how the messages
   * name the fleet.
   */
  static List<PolicyError> of(String file, PolicyDocument document, List<MethodMention> mentions,
                              AdminViews.Endpoints fleet, String admin) {
    Map<String, Map<String, SortedSet<String>>> builds = new HashMap<>();
    Map<String, Integer> unknown = new HashMap<>();
    for (AdminViews.Endpoint endpoint : fleet.endpoints()) {
      if (endpoint.lease() != null && endpoint.lease().expired()) {
        continue;
      }
      for (AdminViews.ServiceBuild build : endpoint.services()) {
        String api = build.probedApi() != null ? build.probedApi() : build.advertisedApi();
        if (build.methods() == null || api == null) {
          unknown.merge(build.service(), 1, Integer::sum);
        } else {
          builds.computeIfAbsent(build.service(), s -> new TreeMap<>())
              .computeIfAbsent(api, a -> new TreeSet<>()).addAll(build.methods());
        }
      }
    }
    List<PolicyError> warnings = new ArrayList<>();
    for (MethodMention mention : mentions) {
      Map<String, SortedSet<String>> live = builds.getOrDefault(mention.service(), Map.of());
      if (live.values().stream().anyMatch(methods -> methods.contains(mention.method()))) {
        continue;
      }
      warnings.add(new PolicyError(file, mention.line(), mention.column(), mention.path() + ": no live endpoint of "
          + mention.service() + " serves " + mention.method()
          + consequence(document, mention) + "; "
          + fleet(live, unknown.getOrDefault(mention.service(), 0), mention.service(), admin)));
    }
    return warnings;
  }

  /** What a required method no build serves leads to; nothing for a method named elsewhere. */
  private static String consequence(PolicyDocument document, MethodMention mention) {
    if (!mention.required()) {
      return "";
    }
    boolean failOpen = document.services().stream().filter(s -> s.service().equals(mention.service())).findFirst()
        .map(s -> s.whenNoneQualify() == ServicePolicy.WhenNoneQualify.FAIL_OPEN).orElse(false);
    return failOpen ? " (no build qualifies, so fail-open would send its calls to endpoints without it)"
        : " (its calls would fail closed)";
  }

  /** {@code live builds at URL: sha256:7865c900.. serves SayHello, SayHelloAgain; ...}. */
  private static String fleet(Map<String, SortedSet<String>> live, int unknown, String service, String admin) {
    if (live.isEmpty() && unknown == 0) {
      return "no live endpoint at " + admin + " claims " + service;
    }
    List<String> parts = new ArrayList<>();
    live.forEach((api, methods) -> parts.add(abbreviate(api) + " serves "
        + (methods.isEmpty() ? "no method" : String.join(", ", methods))));
    if (unknown > 0) {
      parts.add(unknown + (unknown == 1 ? " endpoint" : " endpoints") + " whose methods are not known yet");
    }
    return "live builds at " + admin + ": " + String.join("; ", parts);
  }

  private static String abbreviate(String hash) {
    return hash.substring(0, Math.min(hash.length(), 15)) + "..";
  }
}
