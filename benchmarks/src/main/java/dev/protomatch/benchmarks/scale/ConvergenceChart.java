package dev.protomatch.benchmarks.scale;

import java.awt.BasicStroke;
import java.awt.Color;
import java.awt.Font;
import java.awt.Graphics2D;
import java.awt.RenderingHints;
import java.awt.image.BufferedImage;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import javax.imageio.ImageIO;

/**
 * Renders the scale harness's CSV as a PNG: one line per control plane of a metric (default
 * {@code convergence p99 ms (all)}) against the number of streams, taking the last row of each
 * (control plane, streams) pair, of one fleet size if a number of endpoints is given (else of all rows). Runs
 * headless. {@code ScaleHarness --sweep} calls it on the CSV it wrote.
 *
 * <pre>java -Djava.awt.headless=true -cp benchmarks/target/benchmarks.jar \
 *     dev.protomatch.benchmarks.scale.ConvergenceChart benchmarks/target/scale/scale.csv docs/convergence.png \
 *     ["convergence p99 ms (all)" [endpoints]]</pre>
 */
public final class ConvergenceChart {
  private ConvergenceChart() {}

  public static void main(String[] args) throws Exception {
    if (args.length < 2) {
      System.err.println("usage: ConvergenceChart <scale.csv> <chart.png> [metric [endpoints]]");
      System.exit(2);
    }
    render(Path.of(args[0]), Path.of(args[1]), args.length > 2 ? args[2] : "convergence p99 ms (all)",
        args.length > 3 ? Integer.parseInt(args[3]) : null);
    System.out.println("wrote " + args[1]);
  }

  /** Writes the chart of {@code metric} in {@code csv} to {@code png}; {@code endpoints}: only that fleet size. */
  static void render(Path csv, Path png, String metric, Integer endpoints) throws java.io.IOException {
    System.setProperty("java.awt.headless", "true");
    Map<String, TreeMap<Integer, Double>> series = new TreeMap<>();
    List<String> lines = Files.readAllLines(csv);
    for (String line : lines.subList(1, lines.size())) {
      String[] f = line.split(",");
      if (f.length == 7 && f[5].equals(metric) && !f[6].equals("-")
          && (endpoints == null || f[0].equals(String.valueOf(endpoints)))) {
        series.computeIfAbsent(f[4], k -> new TreeMap<>()).put(Integer.parseInt(f[2]), Double.parseDouble(f[6]));
      }
    }
    int width = 720;
    int height = 440;
    int left = 70;
    int right = 30;
    int top = 40;
    int bottom = 60;
    double maxX = series.values().stream().flatMap(s -> s.keySet().stream()).mapToDouble(Integer::doubleValue).max()
        .orElse(1);
    double maxY = series.values().stream().flatMap(s -> s.values().stream()).mapToDouble(Double::doubleValue).max()
        .orElse(1) * 1.1;
    BufferedImage image = new BufferedImage(width, height, BufferedImage.TYPE_INT_RGB);
    Graphics2D g = image.createGraphics();
    g.setRenderingHint(RenderingHints.KEY_ANTIALIASING, RenderingHints.VALUE_ANTIALIAS_ON);
    g.setColor(Color.WHITE);
    g.fillRect(0, 0, width, height);
    g.setColor(Color.BLACK);
    g.setFont(new Font(Font.SANS_SERIF, Font.PLAIN, 12));
    g.drawString(metric + " against xDS streams", left, 22);
    g.drawLine(left, height - bottom, width - right, height - bottom);
    g.drawLine(left, top, left, height - bottom);
    for (int i = 0; i <= 5; i++) {
      double y = maxY * i / 5;
      int py = (int) (height - bottom - (height - top - bottom) * i / 5.0);
      g.setColor(new Color(230, 230, 230));
      g.drawLine(left + 1, py, width - right, py);
      g.setColor(Color.BLACK);
      g.drawString(String.format("%.0f", y), 10, py + 4);
    }
    Color[] colors = {new Color(200, 60, 40), new Color(40, 90, 200), new Color(40, 150, 60)};
    int index = 0;
    for (Map.Entry<String, TreeMap<Integer, Double>> s : series.entrySet()) {
      g.setColor(colors[index % colors.length]);
      g.setStroke(new BasicStroke(2));
      int[] previous = null;
      for (Map.Entry<Integer, Double> p : s.getValue().entrySet()) {
        int px = (int) (left + (width - left - right) * p.getKey() / maxX);
        int py = (int) (height - bottom - (height - top - bottom) * p.getValue() / maxY);
        g.fillOval(px - 4, py - 4, 8, 8);
        if (previous != null) {
          g.drawLine(previous[0], previous[1], px, py);
        }
        previous = new int[] {px, py};
        Color line = g.getColor();
        g.setColor(Color.BLACK);
        g.drawString(String.valueOf(p.getKey()), px - 10, height - bottom + 16);
        g.setColor(line);
      }
      g.drawString(s.getKey(), width - right - 220, top + 18 * (index + 1));
      index++;
    }
    g.setColor(Color.BLACK);
    g.drawString("streams", width / 2, height - 18);
    g.dispose();
    ImageIO.write(image, "png", png.toFile());
  }
}
