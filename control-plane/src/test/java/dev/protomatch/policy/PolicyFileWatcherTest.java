package dev.protomatch.policy;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import ch.qos.logback.classic.Level;
import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.read.ListAppender;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.slf4j.LoggerFactory;

/** Hot reload: good edits apply, bad edits are refused and logged, unchanged files do nothing. */
class PolicyFileWatcherTest {
  private static final String GREETER = """
      services:
        - service: demo.Greeter
          cluster: demo-greeter
          expect: newest
      """;
  private static final String GREETER_AND_CATALOG = GREETER + """
        - service: shop.Catalog
          cluster: catalog
          expect: newest
      """;
  private static final String BAD_DURATION = """
      settings:
        lease:
          default-ttl: thirty
      services:
        - service: demo.Greeter
          cluster: demo greeter
          expect: newest
      """;

  @TempDir
  Path dir;

  private final PolicyStore store = new PolicyStore(new SteppingClock(Instant.parse("2025-01-01T00:00:00Z")));
  private final List<AppliedPolicy> announced = new ArrayList<>();
  private final ListAppender<ILoggingEvent> logged = new ListAppender<>();
  private final Logger watcherLog = (Logger) LoggerFactory.getLogger(PolicyFileWatcher.class);
  private Path file;
  private PolicyFileWatcher watcher;

  @BeforeEach
  void setUp() {
    file = dir.resolve("policies.yaml");
    store.addListener(announced::add);
    logged.start();
    watcherLog.addAppender(logged);
  }

  @AfterEach
  void tearDown() {
    watcherLog.detachAppender(logged);
    if (watcher != null) {
      watcher.close();
    }
  }

  @Test
  void startAppliesTheFileAsVersionOne() throws IOException {
    Files.writeString(file, GREETER);

    ReloadOutcome outcome = watcher(Duration.ofHours(1)).start();

    assertThat(outcome.accepted()).isTrue();
    assertThat(store.current().version()).isOne();
    assertThat(store.current().source()).isEqualTo(file.toString());
    assertThat(store.current().sha256()).isEqualTo(AppliedPolicy.sha256Of(Files.readAllBytes(file)));
    assertThat(store.current().document().services()).extracting(ServicePolicy::service).containsExactly("demo.Greeter");
  }

  @Test
  void goodEditIsAppliedAsTheNextVersion() throws IOException {
    Files.writeString(file, GREETER);
    watcher(Duration.ofHours(1)).start();

    Files.writeString(file, GREETER_AND_CATALOG);
    ReloadOutcome outcome = watcher.reloadNow();

    assertThat(outcome.accepted()).isTrue();
    assertThat(store.current().version()).isEqualTo(2);
    assertThat(store.current().document().services()).extracting(ServicePolicy::service)
        .containsExactly("demo.Greeter", "shop.Catalog");
    assertThat(announced).extracting(AppliedPolicy::version).containsExactly(1L, 2L);
  }

  @Test
  void badEditIsRefusedAndTheLastGoodPolicyStays() throws IOException {
    Files.writeString(file, GREETER);
    watcher(Duration.ofHours(1)).start();
    AppliedPolicy good = store.current();

    Files.writeString(file, BAD_DURATION);
    ReloadOutcome outcome = watcher.reloadNow();

    assertThat(outcome.accepted()).isFalse();
    assertThat(outcome.errors()).extracting(PolicyError::toString).containsExactly(
        file + ":3:18: settings.lease.default-ttl: expected a duration such as 30s or 500ms, got 'thirty'",
        file + ":6:14: services[0].cluster: expected a cluster name of letters, digits, '_', '.' and '-',"
            + " got 'demo greeter'");
    assertThat(store.lastOutcome()).contains(outcome);
    assertThat(store.current()).isEqualTo(good);
    assertThat(announced).containsExactly(good);
  }

  @Test
  void badEditIsLoggedAsOneWarningPerErrorWithoutStackTrace() throws IOException {
    Files.writeString(file, GREETER);
    watcher(Duration.ofHours(1)).start();

    Files.writeString(file, BAD_DURATION);
    watcher.reloadNow();

    List<ILoggingEvent> warnings = logged.list.stream().filter(e -> e.getLevel() == Level.WARN).toList();
    assertThat(warnings).extracting(ILoggingEvent::getFormattedMessage).containsExactly(
        "refused policy change, keeping version 1: " + file
            + ":3:18: settings.lease.default-ttl: expected a duration such as 30s or 500ms, got 'thirty'",
        "refused policy change, keeping version 1: " + file
            + ":6:14: services[0].cluster: expected a cluster name of letters, digits, '_', '.' and '-',"
            + " got 'demo greeter'");
    assertThat(warnings).allSatisfy(event -> assertThat(event.getThrowableProxy()).isNull());
  }

  @Test
  void pollOfAnUnchangedFileDoesNothing() throws IOException {
    Files.writeString(file, GREETER);
    watcher(Duration.ofHours(1)).start();
    ReloadOutcome first = store.lastOutcome().orElseThrow();

    watcher.poll();

    assertThat(store.current().version()).isOne();
    assertThat(store.lastOutcome()).containsSame(first);
    assertThat(announced).hasSize(1);
  }

  @Test
  void pollOfAnUnchangedBadFileDoesNotRefuseOrLogItAgain() throws IOException {
    Files.writeString(file, GREETER);
    watcher(Duration.ofHours(1)).start();
    Files.writeString(file, BAD_DURATION);
    watcher.poll();
    ReloadOutcome refused = store.lastOutcome().orElseThrow();
    int warnings = logged.list.size();

    watcher.poll();

    assertThat(store.lastOutcome()).containsSame(refused);
    assertThat(logged.list).hasSize(warnings);
  }

  @Test
  void reloadNowOfAnUnchangedFileIsAcceptedWithoutANewVersion() throws IOException {
    Files.writeString(file, GREETER);
    watcher(Duration.ofHours(1)).start();

    ReloadOutcome outcome = watcher.reloadNow();

    assertThat(outcome.accepted()).isTrue();
    assertThat(store.current().version()).isOne();
    assertThat(announced).hasSize(1);
  }

  @Test
  void fileThatDisappearsIsARefusedReload() throws IOException {
    Files.writeString(file, GREETER);
    watcher(Duration.ofHours(1)).start();

    Files.delete(file);
    ReloadOutcome outcome = watcher.reloadNow();

    assertThat(outcome.accepted()).isFalse();
    assertThat(outcome.errors()).extracting(PolicyError::toString)
        .containsExactly(file + ":1:1: cannot read policy file: no such file");
    assertThat(store.current().version()).isOne();
  }

  @Test
  void badFileAtStartIsRefusedAndTheDefaultsStay() throws IOException {
    Files.writeString(file, BAD_DURATION);

    ReloadOutcome outcome = watcher(Duration.ofHours(1)).start();

    assertThat(outcome.accepted()).isFalse();
    assertThat(store.current().version()).isZero();
    assertThat(store.current().document()).isEqualTo(PolicyDocument.empty());
  }

  @Test
  void configMapStyleSymlinkSwapIsPickedUpByPolling() throws IOException {
    // Kubernetes: policies.yaml -> ..data/policies.yaml, ..data -> ..v1; an update re-points ..data.
    Path v1 = Files.createDirectory(dir.resolve("..v1"));
    Path v2 = Files.createDirectory(dir.resolve("..v2"));
    Files.writeString(v1.resolve("policies.yaml"), GREETER);
    Files.writeString(v2.resolve("policies.yaml"), GREETER_AND_CATALOG);
    Path data = Files.createSymbolicLink(dir.resolve("..data"), v1.getFileName());
    Files.createSymbolicLink(file, data.getFileName().resolve("policies.yaml"));
    watcher(Duration.ofHours(1)).start();

    Path next = Files.createSymbolicLink(dir.resolve("..data_tmp"), v2.getFileName());
    Files.move(next, data, java.nio.file.StandardCopyOption.ATOMIC_MOVE, java.nio.file.StandardCopyOption.REPLACE_EXISTING);
    watcher.poll();

    assertThat(store.current().version()).isEqualTo(2);
    assertThat(store.current().document().services()).hasSize(2);
  }

  @Test
  void scheduledPollingAppliesAnEdit() throws IOException {
    Files.writeString(file, GREETER);
    watcher(Duration.ofMillis(10)).start();

    Files.writeString(file, GREETER_AND_CATALOG);

    await().atMost(Duration.ofSeconds(10)).until(() -> store.current().version() == 2);
    assertThat(store.current().document().services()).hasSize(2);
  }

  private PolicyFileWatcher watcher(Duration interval) {
    watcher = new PolicyFileWatcher(file, PolicyFixtures.PARSER, store, interval);
    return watcher;
  }
}
