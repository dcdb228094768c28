package dev.protomatch.benchmarks.scale;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * The scale harness's CSV as one Markdown table per fleet size (endpoints, services, streams): protomatch, bare
 * java-control-plane and their ratio, from the last run of each, so runs made one after the other (protomatch,
 * then {@code --bare-only}) read side by side.
 *
 * <pre>java -cp benchmarks/target/benchmarks.jar dev.protomatch.benchmarks.scale.ScaleTable scale.csv</pre>
 */
public final class ScaleTable {
  private ScaleTable() {}

  public static void main(String[] args) throws Exception {
    Map<String, Map<String, String[]>> sizes = new LinkedHashMap<>();
    List<String> lines = Files.readAllLines(Path.of(args[0]));
    for (String line : lines.subList(1, lines.size())) {
      String[] f = line.split(",");
      if (f.length != 7) {
        continue;
      }
      String size = "E=" + f[0] + " S=" + f[1] + " N=" + f[2] + " (Envoy-style " + f[3] + ")";
      String[] row = sizes.computeIfAbsent(size, k -> new LinkedHashMap<>()).computeIfAbsent(f[5], k -> new String[2]);
      row[f[4].startsWith("bare") ? 1 : 0] = f[6];
    }
    for (Map.Entry<String, Map<String, String[]>> size : sizes.entrySet()) {
      System.out.println("**" + size.getKey() + "**\n");
      System.out.println("| | protomatch | bare java-control-plane | ratio |\n|---|---:|---:|---:|");
      for (Map.Entry<String, String[]> row : size.getValue().entrySet()) {
        String a = row.getValue()[0] == null ? "-" : row.getValue()[0];
        String b = row.getValue()[1] == null ? "-" : row.getValue()[1];
        String ratio = "";
        try {
          double x = Double.parseDouble(a);
          double y = Double.parseDouble(b);
          ratio = y == 0 ? "" : String.format(Locale.ROOT, "%.2fx", x / y);
        } catch (NumberFormatException e) {
          // a missing value
        }
        System.out.println("| " + row.getKey() + " | " + a + " | " + b + " | " + ratio + " |");
      }
      System.out.println();
    }
  }
}
