package dev.protomatch.policy;

import java.util.ArrayList;
import java.util.List;

/**
 * What a valid policy says that is probably not what its author meant, as {@code warning:} lines for
 * {@code protomatch validate}: today, required method names within one service so alike that one is likely a
 * misspelling of the other ({@code SayHelloAgain} and {@code SayHelloAgian}). Pure.
 */
public final class PolicyWarnings {
  /** Names this close (insertions, deletions, substitutions, swaps of neighbours) are taken for one misspelt. */
  static final int MAX_DISTANCE = 2;
  /** Shorter names differ by a letter or two on purpose ({@code Get}/{@code Set}). */
  static final int MIN_LENGTH = 6;

  private PolicyWarnings() {}

  /** The warnings about {@code document}, in service order. */
  public static List<String> of(PolicyDocument document) {
    List<String> warnings = new ArrayList<>();
    for (int i = 0; i < document.services().size(); i++) {
      ServicePolicy service = document.services().get(i);
      if (!(service.expect() instanceof Expectation.RequiredMethods required)) {
        continue;
      }
      List<String> methods = new ArrayList<>(required.methods());
      for (int a = 0; a < methods.size(); a++) {
        for (int b = a + 1; b < methods.size(); b++) {
          String first = methods.get(a);
          String second = methods.get(b);
          if (Math.min(first.length(), second.length()) >= MIN_LENGTH && distance(first, second) <= MAX_DISTANCE) {
            warnings.add("services[" + i + "] (" + service.service() + "): required methods " + first + " and "
                + second + " differ by a letter or two; is one of them misspelt?");
          }
        }
      }
    }
    return warnings;
  }

  /** Optimal string alignment distance: edits (insert, delete, substitute, swap two neighbours) from a to b. */
  static int distance(String a, String b) {
    int[][] d = new int[a.length() + 1][b.length() + 1];
    for (int i = 0; i <= a.length(); i++) {
      d[i][0] = i;
    }
    for (int j = 0; j <= b.length(); j++) {
      d[0][j] = j;
    }
    for (int i = 1; i <= a.length(); i++) {
      for (int j = 1; j <= b.length(); j++) {
        int cost = a.charAt(i - 1) == b.charAt(j - 1) ? 0 : 1;
        d[i][j] = Math.min(Math.min(d[i - 1][j] + 1, d[i][j - 1] + 1), d[i - 1][j - 1] + cost);
        if (i > 1 && j > 1 && a.charAt(i - 1) == b.charAt(j - 2) && a.charAt(i - 2) == b.charAt(j - 1)) {
          d[i][j] = Math.min(d[i][j], d[i - 2][j - 2] + 1);
        }
      }
    }
    return d[a.length()][b.length()];
  }
}
