package dev.protomatch.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Collectors;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;

/**
 * {@code protomatch demo}, run in-process with real greeter and client processes: its log holds the run's log
 * (it used to be empty), and its temporary directory is gone after a successful run unless {@code --keep}.
 */
class DemoCommandTest {
  private static final Pattern LOG_LINE = Pattern.compile("^  \\(log of this run: (.+)\\)$", Pattern.MULTILINE);
  private static final Path TMP = Path.of(System.getProperty("java.io.tmpdir"));

  @Test
  void withKeepTheLastLinePointsToTheRunsLog() throws IOException {
    CliRun run = CliRun.of("demo", "--calls", "10", "--keep");

    assertThat(run.exit()).as(run.out() + run.err()).isZero();
    Matcher pointer = LOG_LINE.matcher(run.out());
    assertThat(pointer.find()).as(run.out()).isTrue();
    Path log = Path.of(pointer.group(1));
    try {
      assertThat(run.out().lines().reduce((a, b) -> b)).hasValue(pointer.group(0));
      assertThat(Files.readString(log)).contains("[ControlPlane] protomatch started:")
          .contains("[RegistrationService] registered 127.0.0.1:").contains("[ControlPlane] protomatch stopped");
    } finally {
      try (Stream<Path> files = Files.list(log.getParent())) {
        for (Path file : files.toList()) {
          Files.delete(file);
        }
      }
      Files.delete(log.getParent());
    }
  }

  @Test
  void aSuccessfulRunLeavesNoDirectoryBehind() throws IOException {
    Set<Path> before = demoDirectories();

    CliRun run = CliRun.of("demo", "--calls", "10");

    assertThat(run.exit()).as(run.out() + run.err()).isZero();
    assertThat(run.out()).doesNotContain("log of this run");
    assertThat(demoDirectories()).isSubsetOf(before);
  }

  private static Set<Path> demoDirectories() throws IOException {
    try (Stream<Path> entries = Files.list(TMP)) {
      return entries.filter(p -> p.getFileName().toString().startsWith("protomatch-demo-")).collect(Collectors.toSet());
    }
  }
}
