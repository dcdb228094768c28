package dev.protomatch.policy;

import java.io.IOException;
import java.nio.file.AccessDeniedException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Objects;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Keeps a {@link PolicyStore} in step with a policy file: hot reload without restarting.
 *
 * <p>It polls the file's content digest rather than using a {@code WatchService}: Kubernetes updates a
 * mounted ConfigMap by swapping a symlink to a new directory, which file-change events on the file
 * itself do not report, while reading the path again always sees the new content. A poll whose content
 * (or read failure) is the same as on the previous poll does nothing, so a bad file is logged once, not
 * on every poll.
 *
 * <p>A bad edit is refused: each error is logged as one WARN line (no stack trace), the refused outcome
 * is recorded in the store, and the last good policy stays in force. A file that disappears or cannot be
 * read is refused the same way.
 */
public final class PolicyFileWatcher implements AutoCloseable {
  private static final Logger log = LoggerFactory.getLogger(PolicyFileWatcher.class);

  private final Path file;
  private final PolicyParser parser;
  private final PolicyStore store;
  private final ScheduledExecutorService scheduler;
  private final boolean ownsScheduler;
  private final Duration interval;
  private final Object reloadLock = new Object();
  private String lastSeen;
  private ScheduledFuture<?> polling;

  /**
   * Polls on {@code scheduler}, which stays the caller's to shut down.
   *
   * @param interval time between the end of one poll and the start of the next
   */
  public PolicyFileWatcher(
      Path file, PolicyParser parser, PolicyStore store, ScheduledExecutorService scheduler, Duration interval) {
    this(file, parser, store, scheduler, false, interval);
  }

  /** Polls on a daemon thread of its own, stopped by {@link #close()}. */
  public PolicyFileWatcher(Path file, PolicyParser parser, PolicyStore store, Duration interval) {
    this(file, parser, store, Executors.newSingleThreadScheduledExecutor(runnable -> {
      Thread thread = new Thread(runnable, "protomatch-policy-watcher");
      thread.setDaemon(true);
      return thread;
    }), true, interval);
  }

  private PolicyFileWatcher(Path file, PolicyParser parser, PolicyStore store, ScheduledExecutorService scheduler,
      boolean ownsScheduler, Duration interval) {
    if (interval.isNegative() || interval.isZero()) {
      throw new IllegalArgumentException("poll interval must be positive, got " + interval);
    }
    this.file = Objects.requireNonNull(file);
    this.parser = Objects.requireNonNull(parser);
    this.store = Objects.requireNonNull(store);
    this.scheduler = Objects.requireNonNull(scheduler);
    this.ownsScheduler = ownsScheduler;
    this.interval = interval;
  }

  /**
   * Loads the file now, then polls it every interval. The first outcome is returned so that a control
   * plane can refuse to start on a bad file rather than run on defaults.
   *
   * @throws IllegalStateException if already started
   */
  public ReloadOutcome start() {
    synchronized (reloadLock) {
      if (polling != null) {
        throw new IllegalStateException("policy watcher for " + file + " already started");
      }
      ReloadOutcome first = reloadNow();
      polling = scheduler.scheduleWithFixedDelay(
          this::pollSafely, interval.toNanos(), interval.toNanos(), TimeUnit.NANOSECONDS);
      return first;
    }
  }

  /**
   * Reads, validates and applies the file now, even if its content has not changed since the last poll
   * (what it refers to, such as the token file, may have). Content identical to the policy in force is
   * accepted without a new version.
   */
  public ReloadOutcome reloadNow() {
    synchronized (reloadLock) {
      return load(read());
    }
  }

  /** Applies the file if its content (or read failure) changed since the last poll or reload. */
  void poll() {
    synchronized (reloadLock) {
      Snapshot snapshot = read();
      if (!snapshot.digest().equals(lastSeen)) {
        load(snapshot);
      }
    }
  }

  /** Stops polling, and the polling thread if this watcher created it. */
  @Override
  public void close() {
    synchronized (reloadLock) {
      if (polling != null) {
        polling.cancel(false);
      }
    }
    if (ownsScheduler) {
      scheduler.shutdownNow();
    }
  }

  private void pollSafely() {
    try {
      poll();
    } catch (RuntimeException e) {
      // A bug, not a bad file (those are refused outcomes): log it and keep polling.
      log.error("policy poll of {} failed", file, e);
    }
  }

  private ReloadOutcome load(Snapshot snapshot) {
    lastSeen = snapshot.digest();
    String source = file.toString();
    if (snapshot.readError() != null) {
      return refuse(List.of(new PolicyError(source, 1, 1, snapshot.readError())));
    }
    PolicyDocument document;
    try {
      document = parser.parse(source, snapshot.content());
    } catch (PolicyValidationException e) {
      return refuse(e.errors());
    }
    long before = store.current().version();
    ReloadOutcome outcome = store.apply(document, source, snapshot.digest());
    AppliedPolicy now = store.current();
    if (now.version() != before) {
      log.info("applied policy {} version {}: {} services (sha256 {})",
          source, now.version(), document.services().size(), now.sha256().substring(0, 12));
    }
    return outcome;
  }

  private ReloadOutcome refuse(List<PolicyError> errors) {
    long kept = store.current().version();
    for (PolicyError error : errors) {
      log.warn("refused policy change, keeping version {}: {}", kept, error);
    }
    return store.refuse(errors);
  }

  private Snapshot read() {
    if (Files.isDirectory(file)) {
      return Snapshot.unreadable("cannot read policy file: it is a directory");
    }
    try {
      byte[] content = Files.readAllBytes(file);
      return new Snapshot(content, AppliedPolicy.sha256Of(content), null);
    } catch (NoSuchFileException e) {
      return Snapshot.unreadable("cannot read policy file: no such file");
    } catch (AccessDeniedException e) {
      return Snapshot.unreadable("cannot read policy file: permission denied");
    } catch (IOException e) {
      return Snapshot.unreadable("cannot read policy file: " + e.getMessage());
    }
  }

  /** The file's content and digest, or why it could not be read (then the digest stands for that reason). */
  private record Snapshot(byte[] content, String digest, String readError) {
    static Snapshot unreadable(String reason) {
      return new Snapshot(null, "unreadable: " + reason, reason);
    }
  }
}
