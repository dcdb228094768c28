package dev.protomatch.staticendpoints;

import static org.assertj.core.api.Assertions.assertThat;

import ch.qos.logback.classic.Level;
import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.read.ListAppender;
import dev.protomatch.policy.PolicyParser;
import dev.protomatch.policy.ServicePolicy;
import dev.protomatch.probe.ReflectionException;
import dev.protomatch.registry.EndpointAddress;
import dev.protomatch.registry.EndpointSource;
import dev.protomatch.registry.EndpointState;
import dev.protomatch.registry.InMemoryEndpointRegistry;
import dev.protomatch.registry.ProbeState;
import dev.protomatch.testing.TestClock;
import java.net.InetAddress;
import java.net.UnknownHostException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.stream.Collectors;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.slf4j.LoggerFactory;

/**
 * Static endpoints reach the registry as IP addresses only: names resolved (every address an endpoint),
 * re-resolved every interval of the test clock, the last good answer kept through failures; literals used
 * as they are. A scripted {@link HostResolver} stands in for DNS.
 */
class StaticEndpointResolverTest {
  private static final Duration INTERVAL = Duration.ofSeconds(30);

  private final TestClock clock = TestClock.atEpochPlusOneDay();
  private final InMemoryEndpointRegistry registry = new InMemoryEndpointRegistry(clock);
  private final ScriptedResolver dns = new ScriptedResolver();
  private final StaticEndpointResolver resolver = new StaticEndpointResolver(registry, dns, clock, INTERVAL);
  private final ListAppender<ILoggingEvent> logged = new ListAppender<>();
  private final Logger resolverLog = (Logger) LoggerFactory.getLogger(StaticEndpointResolver.class);

  @BeforeEach
  void captureLog() {
    logged.start();
    resolverLog.addAppender(logged);
  }

  @AfterEach
  void tearDown() {
    resolverLog.detachAppender(logged);
    resolver.close();
  }

  @Test
  void everyAddressOfANameIsAnEndpointOfItsOwn() {
    dns.answer("greeter.test", "10.0.0.1", "10.0.0.2");

    resolver.apply(services("""
        - service: demo.Greeter
          static-endpoints: [greeter.test:50051]
        """));
    resolver.resolveDue();

    assertThat(statics()).containsExactlyInAnyOrderEntriesOf(Map.of(
        address("10.0.0.1", 50051), Set.of("demo.Greeter"),
        address("10.0.0.2", 50051), Set.of("demo.Greeter")));
    assertThat(registry.state().endpoints().values()).extracting(EndpointState::source)
        .containsOnly(EndpointSource.STATIC);
  }

  @Test
  void literalsAreUsedAsTheyAreInCanonicalFormWithoutALookup() {
    resolver.apply(services("""
        - service: demo.Greeter
          static-endpoints: [127.0.0.1:50051, "[0:0:0:0:0:0:0:1]:50052", "[2001:DB8::0:1]:50053"]
        """));

    assertThat(statics()).containsOnlyKeys(
        address("127.0.0.1", 50051), address("::1", 50052), address("2001:db8::1", 50053));
    resolver.resolveDue();
    assertThat(dns.lookups).isEmpty();
  }

  @Test
  void aNameIsResolvedAgainEveryIntervalAndTheEndpointsFollowIt() {
    dns.answer("greeter.test", "10.0.0.1", "10.0.0.2");
    resolver.apply(services("""
        - service: demo.Greeter
          static-endpoints: [greeter.test:50051]
        """));
    resolver.resolveDue();
    EndpointAddress staying = address("10.0.0.2", 50051);
    ProbeState probed = new ProbeState.Failed(clock.instant(), ReflectionException.Kind.UNAVAILABLE, "refused", 1);
    registry.recordProbe(staying, registry.state().endpoints().get(staying).generation(), probed);
    dns.answer("greeter.test", "10.0.0.3", "10.0.0.2");

    clock.advance(INTERVAL.minusSeconds(1));
    resolver.resolveDue();
    assertThat(dns.lookups).containsExactly("greeter.test");
    assertThat(statics()).containsOnlyKeys(address("10.0.0.1", 50051), staying);

    clock.advance(Duration.ofSeconds(1));
    resolver.resolveDue();
    assertThat(dns.lookups).containsExactly("greeter.test", "greeter.test");
    assertThat(statics()).containsOnlyKeys(staying, address("10.0.0.3", 50051));
    assertThat(registry.state().endpoints().get(staying).probe()).as("an address that stays keeps its probe")
        .isEqualTo(probed);
    assertThat(messages(Level.INFO)).contains("static endpoint services[0].static-endpoints[0] 'greeter.test:50051'"
        + " (demo.Greeter): host 'greeter.test' resolves to [10.0.0.2, 10.0.0.3] (was [10.0.0.1, 10.0.0.2])");
  }

  @Test
  void failuresKeepTheLastGoodAddressesAndAreLoggedOnce() {
    dns.answer("greeter.test", "10.0.0.1", "10.0.0.2");
    resolver.apply(services("""
        - service: demo.Greeter
          static-endpoints: [greeter.test:50051]
        """));
    resolver.resolveDue();
    dns.fail("greeter.test", "greeter.test: Name or service not known");

    for (int i = 0; i < 3; i++) {
      clock.advance(INTERVAL);
      resolver.resolveDue();
    }

    assertThat(dns.lookups).hasSize(4);
    assertThat(statics()).containsOnlyKeys(address("10.0.0.1", 50051), address("10.0.0.2", 50051));
    assertThat(messages(Level.WARN)).containsExactly("static endpoint services[0].static-endpoints[0]"
        + " 'greeter.test:50051' (demo.Greeter): cannot resolve host 'greeter.test' (greeter.test: Name or service"
        + " not known); keeping the addresses it last resolved to: [10.0.0.1, 10.0.0.2]");

    dns.answer("greeter.test", "10.0.0.9");
    clock.advance(INTERVAL);
    resolver.resolveDue();
    assertThat(statics()).containsOnlyKeys(address("10.0.0.9", 50051));
    assertThat(messages(Level.INFO)).contains("static endpoint services[0].static-endpoints[0] 'greeter.test:50051'"
        + " (demo.Greeter): host 'greeter.test' resolves again");
  }

  @Test
  void aNameThatNeverResolvedGivesNoEndpointWhileLiteralsBesideItDo() {
    dns.fail("missing.test", "missing.test: Name or service not known");

    resolver.apply(services("""
        - service: demo.Greeter
          static-endpoints: [127.0.0.1:50051, missing.test:50052]
        """));
    resolver.resolveDue();

    assertThat(statics()).containsOnlyKeys(address("127.0.0.1", 50051));
    assertThat(messages(Level.WARN)).containsExactly("static endpoint services[0].static-endpoints[1]"
        + " 'missing.test:50052' (demo.Greeter): cannot resolve host 'missing.test' (missing.test: Name or service"
        + " not known); no endpoint until it resolves");
  }

  @Test
  void oneAddressReachedTwiceIsOneEndpointServingBothServices() {
    dns.answer("localhost", "127.0.0.1");

    resolver.apply(services("""
        - service: demo.Greeter
          static-endpoints: [localhost:50051]
        - service: demo.Farewell
          static-endpoints: [127.0.0.1:50051]
        """));
    resolver.resolveDue();

    assertThat(statics()).containsExactlyEntriesOf(Map.of(address("127.0.0.1", 50051),
        Set.of("demo.Greeter", "demo.Farewell")));
  }

  @Test
  void aPolicyChangeResolvesNewNamesAtOnceAndKeepsTheScheduleOfOthers() {
    dns.answer("a.test", "10.0.0.1");
    dns.answer("b.test", "10.0.0.2");
    resolver.apply(services("""
        - service: demo.Greeter
          static-endpoints: [a.test:50051]
        """));
    resolver.resolveDue();

    clock.advance(Duration.ofSeconds(10));
    resolver.apply(services("""
        - service: demo.Greeter
          static-endpoints: [a.test:50051, b.test:50051]
        """));
    resolver.resolveDue();
    assertThat(dns.lookups).containsExactly("a.test", "b.test");
    assertThat(statics()).containsOnlyKeys(address("10.0.0.1", 50051), address("10.0.0.2", 50051));

    resolver.apply(services("""
        - service: demo.Greeter
          static-endpoints: [b.test:50051]
        """));
    assertThat(statics()).as("a removed entry leaves at once, without a lookup")
        .containsOnlyKeys(address("10.0.0.2", 50051));
  }

  @Test
  void startPublishesLiteralsAtOnceAndResolvesNamesOnItsOwnThread() throws Exception {
    dns.answer("greeter.test", "10.0.0.1");

    resolver.start(services("""
        - service: demo.Greeter
          static-endpoints: [127.0.0.1:50051, greeter.test:50052]
        """));

    assertThat(statics()).containsKey(address("127.0.0.1", 50051));
    org.awaitility.Awaitility.await().atMost(Duration.ofSeconds(10)).untilAsserted(() ->
        assertThat(statics()).containsOnlyKeys(address("127.0.0.1", 50051), address("10.0.0.1", 50052)));
    assertThat(dns.threads).containsOnly("protomatch-static-resolver");
  }

  private Map<EndpointAddress, Set<String>> statics() {
    return registry.state().endpoints().values().stream().filter(e -> e.source() == EndpointSource.STATIC)
        .collect(Collectors.toMap(EndpointState::address, e -> e.advertised().keySet()));
  }

  private List<String> messages(Level level) {
    return logged.list.stream().filter(e -> e.getLevel() == level).map(ILoggingEvent::getFormattedMessage).toList();
  }

  private static EndpointAddress address(String host, int port) {
    return new EndpointAddress(host, port);
  }

  /** The services of a policy whose {@code services:} list is {@code yaml} (cluster and expect filled in). */
  private static List<ServicePolicy> services(String yaml) {
    StringBuilder document = new StringBuilder("settings:\n  auth:\n    insecure: true\nservices:\n");
    int[] n = {0};
    yaml.lines().forEach(line -> {
      document.append("  ").append(line).append('\n');
      if (line.startsWith("- service:")) {
        document.append("    cluster: c").append(n[0]++).append("\n    expect:\n      methods: [SayHello]\n");
      }
    });
    return new PolicyParser(name -> null, path -> false).parse("policies.yaml", document.toString()).services();
  }

  /** Answers lookups as a test scripts them, and records which names were looked up, on which thread. */
  private static final class ScriptedResolver implements HostResolver {
    private final Map<String, Object> answers = new HashMap<>();
    final List<String> lookups = new java.util.concurrent.CopyOnWriteArrayList<>();
    final List<String> threads = new java.util.concurrent.CopyOnWriteArrayList<>();

    synchronized void answer(String host, String... ips) {
      List<InetAddress> addresses = new ArrayList<>();
      for (String ip : ips) {
        try {
          addresses.add(InetAddress.getByName(ip)); // a literal: parsed, never looked up
        } catch (UnknownHostException e) {
          throw new AssertionError(e);
        }
      }
      answers.put(host, List.copyOf(addresses));
    }

    synchronized void fail(String host, String message) {
      answers.put(host, new UnknownHostException(message));
    }

    @Override
    @SuppressWarnings("unchecked")
    public synchronized List<InetAddress> resolve(String host) throws UnknownHostException {
      lookups.add(host);
      threads.add(Thread.currentThread().getName());
      Object answer = answers.get(host);
      if (answer == null) {
        throw new AssertionError("unexpected lookup of " + host);
      }
      if (answer instanceof UnknownHostException e) {
        throw e;
      }
      return (List<InetAddress>) answer;
    }
  }
}
