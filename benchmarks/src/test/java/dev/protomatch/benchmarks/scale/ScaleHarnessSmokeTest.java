package dev.protomatch.benchmarks.scale;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * CI smoke run of the scale harness (run by every {@code ./mvnw verify}): the harness at a small size
 * (E = 500, S = 50, N = 100, 4 counted changes, second-long settle and steady windows, child JVMs compiling with
 * C1 only), protomatch with a
 * registered fleet, then bare java-control-plane, with the real processes it starts (control plane, load
 * generator) on loopback. It asserts that the run completed: both columns are there, every row of the table has
 * a value in each, every affected stream converged on every change. It asserts nothing about times.
 *
 * <p>{@code -Dprotomatch.scale.smoke.args="--changes 0"} appends options to the harness's command line, to see the
 * test fail when a run does not measure what it should (it then names each missing row).
 */
class ScaleHarnessSmokeTest {
  static final int CHANGES = 4;

  /** The rows every control plane's column must fill. */
  static final List<String> ROWS = List.of(
      "convergence p50 ms (all)", "convergence p99 ms (all)", "convergence max ms (all)",
      "convergence p50 ms (SotW)", "convergence p99 ms (SotW)", "convergence p50 ms (delta)",
      "convergence p99 ms (delta)", "samples", "steady CPU % of a core", "CPU ms per change",
      "bytes to clients per change", "streams that missed a change", "snapshot build ms (mean)",
      "heap after GC MiB");

  /** Rows protomatch's column fills beyond those. */
  static final List<String> PROTOMATCH_ROWS = List.of(
      "registrations/s", "CPU ms per registration", "fleet held after s", "CPU s until the fleet is held",
      "snapshot builds per change");

  @Test
  void theHarnessCompletesAtASmallSizeForProtomatchAndBare() throws Exception {
    List<String> argv = new ArrayList<>(List.of("--endpoints", "500", "--services", "50", "--streams", "100",
        "--envoy", "10", "--changes", String.valueOf(CHANGES), "--warmup-changes", "2", "--settle-seconds", "1",
        "--steady-seconds", "2", "--bare", "--out", "target/scale-smoke",
        // C1 only: the child JVMs live for seconds, and C2 compiling costs the shared cores more than it saves
        "--cp-jvm", "-XX:TieredStopAtLevel=1", "--lg-jvm", "-XX:TieredStopAtLevel=1"));
    String extra = System.getProperty("protomatch.scale.smoke.args", "").trim();
    if (!extra.isEmpty()) {
      argv.addAll(List.of(extra.split("\\s+")));
    }

    List<ScaleHarness.Run> runs = ScaleHarness.run(ScaleHarness.parse(argv.toArray(String[]::new)));

    assertThat(runs).hasSize(1);
    ScaleHarness.Run run = runs.get(0);
    assertThat(problems(run)).as("the harness's table:%n%s", run.text()).isEmpty();
  }

  /** What is missing from a run's table, one line each; empty when it completed. */
  static List<String> problems(ScaleHarness.Run run) {
    List<String> problems = new ArrayList<>();
    List<String> columns = run.results().stream().map(ScaleHarness.Result::name).toList();
    if (!columns.equals(List.of("protomatch", "bare java-control-plane"))) {
      problems.add("columns " + columns + ", expected [protomatch, bare java-control-plane]");
      return problems;
    }
    Map<String, double[]> table = run.table();
    for (int c = 0; c < columns.size(); c++) {
      List<String> rows = new ArrayList<>(ROWS);
      if (c == 0) {
        rows.addAll(PROTOMATCH_ROWS);
      }
      for (String row : rows) {
        double[] values = table.get(row);
        if (values == null) {
          problems.add("row '" + row + "' missing");
        } else if (!Double.isFinite(values[c])) {
          problems.add(columns.get(c) + ": no value in row '" + row + "'");
        }
      }
      double[] missed = table.get("streams that missed a change");
      if (missed != null && missed[c] != 0) {
        problems.add(columns.get(c) + ": " + missed[c] + " affected streams did not converge on a change");
      }
      double[] samples = table.get("samples");
      if (samples != null && samples[c] < CHANGES) {
        problems.add(columns.get(c) + ": " + samples[c] + " convergence samples over " + CHANGES + " changes");
      }
    }
    return problems;
  }
}
