package dev.protomatch.probe;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.protomatch.testing.DescriptorFixtures;
import dev.protomatch.testing.InboundBytes;
import dev.protomatch.testing.LoopbackServer;
import dev.protomatch.testing.LoopbackServer.Reflection;
import dev.protomatch.testing.RogueReflection;
import io.grpc.Channel;
import io.grpc.ClientInterceptors;
import java.lang.management.ManagementFactory;
import java.lang.management.MemoryPoolMXBean;
import java.lang.management.MemoryType;
import java.time.Duration;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.regex.Pattern;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * What one probe can be made to read, hold and wait for, against real grpc-java reflection servers on
 * loopback that lie (see {@link RogueReflection}): the byte budget, the file budget, answers that do not
 * answer the question, and the stream's end. Bytes are counted where the client reads them
 * ({@link InboundBytes}), never inferred from time.
 */
class ReflectionClientBoundsTest {
  private static final String GREETER = "demo.Greeter";
  private static final int MIB = 1024 * 1024;

  private LoopbackServer server;
  private LoopbackServer good;
  private final InboundBytes inbound = new InboundBytes();

  @AfterEach
  void stop() {
    for (LoopbackServer running : new LoopbackServer[] {server, good}) {
      if (running != null) {
        running.close();
      }
    }
  }

  @Test
  void floodOfUnaskedAnswersEndsTheProbeAtItsByteBudget() {
    RogueReflection rogue = RogueReflection.flooding(GREETER, MIB, 200L * MIB);
    server = LoopbackServer.start(rogue.definition());
    long heapBefore = usedHeap();
    resetHeapPeaks();

    ReflectionException failure = probeFails(Duration.ofSeconds(20));
    long heapPeak = heapPeaks();
    long heapAfter = usedHeap();

    System.out.printf("flood: offered %d bytes (cap 200 MiB), client read %d bytes (budget %d), used heap before %d MiB,"
            + " peak during the probe at most %d MiB (sum of the heap pools' peaks), after %d MiB%n",
        rogue.bytesOffered(), inbound.total(), ReflectionClient.MAX_PROBE_BYTES, heapBefore / MIB, heapPeak / MIB,
        heapAfter / MIB);
    assertThat(failure.kind()).isEqualTo(ReflectionException.Kind.BAD_ANSWER);
    assertThat(failure.getMessage()).matches(Pattern.quote(server.address() + " (grpc.reflection.v1.ServerReflection):"
        + " the reflection answers exceed the probe's budget of 16 MiB (") + "\\d+ bytes with the answer to"
        + " file_by_filename flood/\\d+\\.proto\\)");
    assertThat(inbound.total()).isLessThanOrEqualTo(ReflectionClient.MAX_PROBE_BYTES + 2 * MIB);
    await().atMost(Duration.ofSeconds(10)).until(() -> rogue.cancelled() == 1);
  }

  @Test
  void answerAboveFourMebibytesIsRefusedUnread() {
    RogueReflection rogue = RogueReflection.oversized(GREETER, 5 * MIB);
    server = LoopbackServer.start(rogue.definition());

    ReflectionException failure = probeFails(Duration.ofSeconds(20));

    assertThat(failure.kind()).isEqualTo(ReflectionException.Kind.BAD_ANSWER);
    assertThat(failure.getMessage()).startsWith(server.address() + " (grpc.reflection.v1.ServerReflection): the answer"
        + " to file_containing_symbol demo.Greeter is larger than the 4 MiB one answer may hold");
    assertThat(inbound.total()).isLessThan(MIB);
  }

  @Test
  void endlessImportChainEndsAtTheFileBudget() {
    RogueReflection rogue = RogueReflection.endlessImports(GREETER);
    server = LoopbackServer.start(rogue.definition());

    ReflectionException failure = probeFails(Duration.ofSeconds(60));

    assertThat(failure.kind()).isEqualTo(ReflectionException.Kind.BAD_ANSWER);
    assertThat(failure.getMessage()).isEqualTo(server.address() + " (grpc.reflection.v1.ServerReflection): the"
        + " reflection answers hold more than the probe's budget of 2000 files");
    // list_services, then one request per file until the one file too many
    assertThat(rogue.requests()).isEqualTo(1 + ReflectionClient.MAX_FILES + 1);
  }

  @Test
  void answerWithoutTheAskedForFileFailsAtOnce() {
    RogueReflection rogue = RogueReflection.wrongFile(GREETER);
    server = LoopbackServer.start(rogue.definition());

    ReflectionException failure = probeFails(Duration.ofSeconds(10));

    assertThat(failure.kind()).isEqualTo(ReflectionException.Kind.BAD_ANSWER);
    assertThat(failure.getMessage()).isEqualTo(server.address() + " (grpc.reflection.v1.ServerReflection): asked"
        + " file_by_filename b.proto, the answer holds [c.proto] instead");
    assertThat(rogue.requests()).isEqualTo(3);
  }

  @Test
  void answerToAnEarlierRequestFailsAtOnce() {
    RogueReflection rogue = RogueReflection.replaying(GREETER);
    server = LoopbackServer.start(rogue.definition());

    ReflectionException failure = probeFails(Duration.ofSeconds(10));

    assertThat(failure.kind()).isEqualTo(ReflectionException.Kind.BAD_ANSWER);
    assertThat(failure.getMessage()).isEqualTo(server.address() + " (grpc.reflection.v1.ServerReflection): asked"
        + " file_by_filename b.proto, the server answered file_containing_symbol demo.Greeter");
    assertThat(rogue.requests()).isEqualTo(3);
  }

  @Test
  void serviceListAnsweringAFileRequestFailsAtOnce() {
    RogueReflection rogue = RogueReflection.listingOnly(GREETER);
    server = LoopbackServer.start(rogue.definition());

    ReflectionException failure = probeFails(Duration.ofSeconds(10));

    assertThat(failure.kind()).isEqualTo(ReflectionException.Kind.BAD_ANSWER);
    assertThat(failure.getMessage()).isEqualTo(server.address() + " (grpc.reflection.v1.ServerReflection): the"
        + " server answered file_containing_symbol demo.Greeter with LIST_SERVICES_RESPONSE");
    assertThat(rogue.requests()).isEqualTo(2);
  }

  @Test
  void goodEndpointProbedDuringAFloodIsAnswered() throws Exception {
    RogueReflection rogue = RogueReflection.flooding(GREETER, MIB, 200L * MIB);
    server = LoopbackServer.start(rogue.definition());
    good = LoopbackServer.start(Reflection.V1_AND_V1ALPHA, DescriptorFixtures.GREETER_V2.implementation().get());
    ExecutorService probes = Executors.newFixedThreadPool(2);
    try {
      Future<ReflectionException> flooded = probes.submit(() -> probeFails(Duration.ofSeconds(20)));
      Future<ReflectionResult> answered = probes.submit(() ->
          new ReflectionClient(Duration.ofSeconds(20)).fetch(good.channel(), good.address()));

      assertThat(answered.get(30, TimeUnit.SECONDS).services()).contains(GREETER);
      assertThat(answered.get().files().getFileList()).extracting(file -> file.getName())
          .contains(DescriptorFixtures.GREETER_V2.runtimeFile().getName());
      assertThat(flooded.get(30, TimeUnit.SECONDS).kind()).isEqualTo(ReflectionException.Kind.BAD_ANSWER);
    } finally {
      probes.shutdownNow();
    }
  }

  @Test
  void finishedProbeCancelsItsStreamInsteadOfHalfClosingIt() throws Exception {
    RogueReflection rogue = RogueReflection.clinging(GREETER, DescriptorFixtures.GREETER_V2.runtimeSet());
    server = LoopbackServer.start(rogue.definition());

    ReflectionResult result = new ReflectionClient(Duration.ofSeconds(60))
        .fetch(channel(), server.address(), ReflectionProtocol.V1);

    assertThat(result.services()).containsExactly(GREETER);
    // The server ignores half-closes: only a cancel ends its stream before the 60 s deadline.
    await().atMost(Duration.ofSeconds(10)).until(() -> rogue.cancelled() == 1);
    assertThat(rogue.halfClosed()).isZero();
  }

  private ReflectionException probeFails(Duration timeout) {
    try {
      ReflectionResult result = new ReflectionClient(timeout).fetch(channel(), server.address(), ReflectionProtocol.V1);
      throw new AssertionError("the probe of " + server.address() + " succeeded: " + result.services());
    } catch (ReflectionException e) {
      return e;
    }
  }

  private Channel channel() {
    return ClientInterceptors.intercept(server.channel(), inbound);
  }

  private static void resetHeapPeaks() {
    for (MemoryPoolMXBean pool : ManagementFactory.getMemoryPoolMXBeans()) {
      if (pool.getType() == MemoryType.HEAP) {
        pool.resetPeakUsage();
      }
    }
  }

  /** An upper bound of the heap used since {@link #resetHeapPeaks()}: the pools peak at different moments. */
  private static long heapPeaks() {
    return ManagementFactory.getMemoryPoolMXBeans().stream().filter(pool -> pool.getType() == MemoryType.HEAP)
        .mapToLong(pool -> pool.getPeakUsage().getUsed()).sum();
  }

  private static long usedHeap() {
    Runtime runtime = Runtime.getRuntime();
    System.gc();
    return runtime.totalMemory() - runtime.freeMemory();
  }
}
