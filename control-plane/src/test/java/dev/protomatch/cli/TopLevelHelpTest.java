package dev.protomatch.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.LinkedHashMap;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** {@code protomatch --help} lists every command with a summary that is a whole sentence, not a cut-off line. */
class TopLevelHelpTest {
  @Test
  void everyCommandSummaryIsAWholeSentence() {
    CliRun run = CliRun.of("--help");

    Map<String, String> summaries = summaries(run.out());
    assertThat(run.exit()).isZero();
    assertThat(summaries.keySet()).containsExactly("serve", "demo", "status", "hash", "validate", "greeter",
        "demo-client", "bootstrap", "help");
    assertThat(summaries).allSatisfy((command, summary) -> assertThat(summary).as(command).endsWith("."));
  }

  /** The Commands: section, each command's summary with its wrapped lines joined. */
  private static Map<String, String> summaries(String help) {
    Map<String, String> summaries = new LinkedHashMap<>();
    String current = null;
    boolean inCommands = false;
    for (String line : help.lines().toList()) {
      if (line.equals("Commands:")) {
        inCommands = true;
      } else if (inCommands && line.startsWith("  ") && !line.startsWith("   ")) {
        String[] nameAndText = line.strip().split("\\s+", 2);
        current = nameAndText[0];
        summaries.put(current, nameAndText.length > 1 ? nameAndText[1] : "");
      } else if (inCommands && current != null && line.startsWith("   ")) {
        summaries.merge(current, " " + line.strip(), String::concat);
      }
    }
    return summaries;
  }
}
