package dev.protomatch.benchmarks.scale;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * The scale harness's CSV as one Markdown table per fleet size (endpoints, services, streams): one column per
 * control plane ({@code protomatch}, {@code protomatch static} for the injected fleet, bare java-control-plane) and
 * the ratio protomatch / bare, from the last run of each, so runs made one after the other (protomatch, then
 * {@code --bare-only}) read side by side.
 *
 * <pre>java -cp benchmarks/target/benchmarks.jar dev.protomatch.benchmarks.scale.ScaleTable scale.csv</pre>
 */
public final class ScaleTable {
  private ScaleTable() {}

  public static void main(String[] args) throws Exception {
    List<String> columns = List.of("protomatch", "protomatch static", "bare java-control-plane");
    Map<String, Map<String, String[]>> sizes = new LinkedHashMap<>();
    List<String> lines = Files.readAllLines(Path.of(args[0]));
    for (String line : lines.subList(1, lines.size())) {
      String[] f = line.split(",");
      if (f.length != 7 || !columns.contains(f[4])) {
        continue;
      }
      String size = "E=" + f[0] + " S=" + f[1] + " N=" + f[2] + " (Envoy-style " + f[3] + ")";
      String[] row = sizes.computeIfAbsent(size, k -> new LinkedHashMap<>())
          .computeIfAbsent(f[5], k -> new String[columns.size()]);
      row[columns.indexOf(f[4])] = f[6];
    }
    for (Map.Entry<String, Map<String, String[]>> size : sizes.entrySet()) {
      boolean injected = size.getValue().values().stream().anyMatch(r -> r[1] != null);
      System.out.println("**" + size.getKey() + "**\n");
      System.out.println(injected
          ? "| | protomatch | protomatch static | bare java-control-plane | ratio |\n|---|---:|---:|---:|---:|"
          : "| | protomatch | bare java-control-plane | ratio |\n|---|---:|---:|---:|");
      for (Map.Entry<String, String[]> row : size.getValue().entrySet()) {
        String a = row.getValue()[0] == null ? "-" : row.getValue()[0];
        String st = row.getValue()[1] == null ? "-" : row.getValue()[1];
        String b = row.getValue()[2] == null ? "-" : row.getValue()[2];
        String ratio = "";
        try {
          double x = Double.parseDouble(a);
          double y = Double.parseDouble(b);
          ratio = y == 0 ? "" : String.format(Locale.ROOT, "%.2fx", x / y);
        } catch (NumberFormatException e) {
          // a missing value
        }
        System.out.println("| " + row.getKey() + " | " + a + (injected ? " | " + st : "") + " | " + b + " | "
            + ratio + " |");
      }
      System.out.println();
    }
  }
}
