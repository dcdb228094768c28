package dev.protomatch.it;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;

/** Measurements integration tests write for the issue notes (target/reports/*.txt), never asserted on. */
public final class Reports {
  private Reports() {}

  public static void append(String name, String line) {
    Path dir = Path.of(System.getProperty("protomatch.reports", "target/reports"));
    try {
      Files.createDirectories(dir);
      Files.writeString(dir.resolve(name + ".txt"), line + System.lineSeparator(),
          StandardOpenOption.CREATE, StandardOpenOption.APPEND);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    System.out.println("[report " + name + "] " + line);
  }
}
