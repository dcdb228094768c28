package dev.protomatch.cli;

import dev.protomatch.admin.AdminViews;
import dev.protomatch.util.ClientText;
import java.io.PrintWriter;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/**
 * {@code protomatch status}: what the admin port's status page ({@code GET /}, admin/StatusPage) shows, as
 * terminal text, from the same JSON views (/v1/services, /v1/clients, /v1/policies, /v1/endpoints,
 * /v1/replicas): the policy in force (source, version, when loaded, digest) and a refused reload with its
 * errors; when the decision was made and how many xDS clients are connected; node groups whose newest
 * snapshot the pre-flight check refused; the replicas (etcd trouble, peers running another policy); per
 * service what it expects, its outcome and the methods failing closed; a table of every endpoint claiming a
 * service with its build, the build's methods, its locality and labels, included or excluded and why (an
 * included build serving only some methods says which calls it still takes); and whether every xDS client
 * has what it was sent. Exits 2 with one line when the admin port cannot be read.
 */
@Command(name = "status", mixinStandardHelpOptions = true,
    description = {"Shows what the admin status page shows, as text.",
        "The policy in force and a refused reload, services with their endpoints",
        "(included/excluded and why, build, methods, labels), replicas, xDS clients."})
final class StatusCommand implements Callable<Integer> {
  private static final int DIGEST_DIGITS = 12;

  @Spec
  CommandSpec spec;

  @Option(names = "--admin", defaultValue = "http://127.0.0.1:18002", paramLabel = "URL",
      description = "protomatch's admin address (default: ${DEFAULT-VALUE}).")
  String admin;

  @Override
  public Integer call() throws Exception {
    java.util.Optional<AdminViews.Services> decided = new AdminClient(admin, "--admin")
        .fetchIfReady("/v1/services", AdminViews.Services.class);
    AdminViews.Clients clients = fetch("/v1/clients", AdminViews.Clients.class);
    AdminViews.Policies policy = fetch("/v1/policies", AdminViews.Policies.class);
    AdminViews.Endpoints endpoints = fetch("/v1/endpoints", AdminViews.Endpoints.class);
    AdminViews.Replicas replicas = fetch("/v1/replicas", AdminViews.Replicas.class);
    PrintWriter out = spec.commandLine().getOut();

    header(out, decided, policy, clients);
    notices(out, policy, clients);
    replicas(out, replicas);
    out.println();

    if (decided.isEmpty()) {
      out.println("No routing decision yet: the control plane is starting.");
    } else if (decided.get().services().isEmpty()) {
      out.println("The policy names no services.");
    } else {
      services(out, decided.get(), endpoints);
    }
    out.println();

    List<List<String>> clientRows = new ArrayList<>();
    clientRows.add(List.of("CLIENT (node id)", "CLUSTER", "PROTOCOL", "LISTENERS", "ROUTES", "CLUSTERS", "ENDPOINTS"));
    for (AdminViews.Client client : clients.clients()) {
      clientRows.add(List.of(client.nodeId(), client.cluster(), client.protocol(), sync(client.resources(), "listeners"),
          sync(client.resources(), "routes"), sync(client.resources(), "clusters"), sync(client.resources(), "endpoints")));
    }
    print(out, clientRows);
    for (AdminViews.Client client : clients.clients()) {
      client.resources().forEach((type, resource) -> {
        if (resource.lastNack() != null) {
          out.println("NACK from " + client.nodeId() + " (" + type + " version " + resource.lastNack().version() + "): "
              + resource.lastNack().errorDetail());
        }
      });
    }
    out.flush();
    return 0;
  }

  /** The page's header: policy source and version, when the decision was made, how many clients. */
  private static void header(PrintWriter out, java.util.Optional<AdminViews.Services> decided,
                             AdminViews.Policies policy, AdminViews.Clients clients) {
    out.println("policy " + policy.source() + " version " + policy.version() + " (loaded " + policy.loadedAt()
        + ", " + digest(policy.sha256()) + ")");
    out.println(decided.map(services -> "decided " + services.decidedAt() + " (registry version "
            + services.registryVersion() + ")").orElse("no routing decision yet")
        + "; " + clients.clients().size() + " xDS client" + (clients.clients().size() == 1 ? "" : "s") + " connected");
  }

  /** A refused policy reload and refused snapshots, worded as on the page. */
  private static void notices(PrintWriter out, AdminViews.Policies policy, AdminViews.Clients clients) {
    if (policy.lastReload() != null && !policy.lastReload().accepted()) {
      out.println("REFUSED: last policy reload (" + policy.lastReload().at() + ") was rejected; version "
          + policy.version() + " stays in force: " + ClientText.escape(String.join("; ", policy.lastReload().errors())));
    }
    if (clients.rejectedSnapshots() != null) {
      for (AdminViews.RejectedSnapshot rejected : clients.rejectedSnapshots()) {
        out.println("REFUSED: the newest " + rejected.nodeGroup() + " snapshot (" + rejected.at()
            + ") was refused by the pre-flight check; "
            + (rejected.versionsInForce() == null || rejected.versionsInForce().isEmpty()
                ? "nothing is published for these clients yet" : "the last good one stays in force")
            + ": " + String.join("; ", rejected.problems()));
      }
    }
  }

  /** The Replicas section: etcd trouble, peers with another policy, this replica and its peers. */
  private static void replicas(PrintWriter out, AdminViews.Replicas replicas) {
    AdminViews.Replica me = replicas.replica();
    if (Boolean.FALSE.equals(me.connected())) {
      out.println("WARNING: etcd is unreachable; this replica serves its last decision and refuses registrations"
          + " (retryable): " + ClientText.escape(String.valueOf(me.lastError())));
    }
    for (AdminViews.Peer peer : replicas.peers()) {
      if (!peer.samePolicy()) {
        out.println("WARNING: replica " + peer.id() + " runs another policy (" + digest(peer.policySha256())
            + ", version " + peer.policyVersion() + ") than this replica (" + digest(me.policySha256())
            + "): the replicas may route differently");
      }
    }
    out.println("replica " + me.id() + " (registry " + me.registry()
        + (me.appliedRevision() == null ? "" : ", applied etcd revision " + me.appliedRevision())
        + (me.probeLeader() == null ? "" : ", probing: " + me.probeLeader()) + ")");
    if (!replicas.peers().isEmpty()) {
      List<List<String>> rows = new ArrayList<>();
      rows.add(List.of("  REPLICA", "POLICY", "STARTED", "ADMIN"));
      rows.add(List.of("  " + me.id() + " (this one)", digest(me.policySha256()) + " v" + me.policyVersion(),
          me.startedAt(), ""));
      for (AdminViews.Peer peer : replicas.peers()) {
        rows.add(List.of("  " + peer.id(), digest(peer.policySha256()) + " v" + peer.policyVersion()
            + (peer.samePolicy() ? "" : " (differs)"), peer.startedAt(),
            peer.adminAddress() == null ? "" : peer.adminAddress()));
      }
      print(out, rows);
    }
  }

  /** The endpoint table, then per service its expectation and outcome and the methods failing closed. */
  private static void services(PrintWriter out, AdminViews.Services services, AdminViews.Endpoints endpoints) {
    Map<String, AdminViews.Endpoint> byAddress = new HashMap<>();
    endpoints.endpoints().forEach(endpoint -> byAddress.put(endpoint.address(), endpoint));
    List<List<String>> rows = new ArrayList<>();
    rows.add(List.of("SERVICE", "CLUSTER", "ENDPOINT", "STATE", "BUILD (api) [methods]", "LABELS", "REASON"));
    for (AdminViews.Service service : services.services()) {
      if (service.included().isEmpty() && service.excluded().isEmpty()) {
        rows.add(List.of(service.service(), service.cluster(), "-", "-", "-", "-", "no endpoint claims this service"));
      }
      for (AdminViews.Included endpoint : service.included()) {
        AdminViews.Endpoint known = byAddress.get(endpoint.address());
        List<String> routed = service.methodsRoutedTo(endpoint.address());
        String reason = endpoint.unqualified() != null
            ? "unchecked (fail-open); did not qualify: " + endpoint.unqualified().reason()
            : service.takesSomeRoutedMethodsOnly(endpoint.address())
                ? "takes calls to " + String.join(", ", routed) + " only" : "";
        rows.add(List.of(service.service(), service.cluster(), endpoint.address(), "included",
            build(endpoint.api(), known, service.service()), labels(known), reason));
      }
      for (AdminViews.Excluded endpoint : service.excluded()) {
        AdminViews.Endpoint known = byAddress.get(endpoint.address());
        rows.add(List.of(service.service(), service.cluster(), endpoint.address(), "excluded",
            build(endpoint.api(), known, service.service()), labels(known), endpoint.reason()));
      }
    }
    print(out, rows);
    for (AdminViews.Service service : services.services()) {
      out.println(service.service() + ": " + outcomeText(service) + "; expects " + expectation(service.expected())
          + (service.expectedSurface() == null ? "" : "; following build " + abbreviate(service.expectedSurface().api())
              + (service.expectedSurface().methods() == null ? ""
                  : " (" + String.join(", ", service.expectedSurface().methods()) + ")"))
          + "; " + service.included().size() + " included, " + service.excluded().size() + " excluded");
      if ("every_method".equals(service.failsClosed())) {
        out.println(service.service() + ": every call fails closed (UNAVAILABLE): no method has an endpoint");
      } else if ("some_methods".equals(service.failsClosed())) {
        out.println(service.service() + ": calls to " + String.join(", ", service.methodsFailingClosed())
            + " fail closed (UNAVAILABLE): no live build the policy admits serves them; its other methods are routed");
      }
    }
  }

  /** The build's api hash and, when known, its methods for the service (probed, else advertised). */
  private static String build(String api, AdminViews.Endpoint known, String service) {
    List<String> methods = known == null ? null : known.services().stream()
        .filter(build -> service.equals(build.service())).map(AdminViews.ServiceBuild::methods)
        .filter(m -> m != null).findFirst().orElse(null);
    return abbreviate(api) + (methods == null ? "" : " [" + String.join(", ", methods) + "]");
  }

  /**
   * Locality, then {@code key=value} per label, as registrants chose them (control characters escaped, so no
   * terminal escapes); {@code -} when there is none.
   */
  private static String labels(AdminViews.Endpoint known) {
    List<String> labels = new ArrayList<>();
    if (known != null) {
      if (known.locality() != null) {
        labels.add(ClientText.escape(known.locality()));
      }
      if (known.labels() != null) {
        new TreeMap<>(known.labels()).forEach((key, value) ->
            labels.add(ClientText.escape(key) + "=" + ClientText.escape(value)));
      }
    }
    return labels.isEmpty() ? "-" : String.join(" ", labels);
  }

  private static String expectation(AdminViews.Expectation expected) {
    if (expected == null) {
      return "?";
    }
    return switch (expected.kind()) {
      case "methods" -> "methods [" + String.join(", ", expected.methods()) + "]";
      case "newest" -> "the newest build";
      default -> expected.kind() + " " + abbreviate(expected.hash());
    };
  }

  /**
   * As the page words it, except that "fail closed" is said only when every method fails closed: when no build
   * has every required method but each method has one, calls are routed (the page then says "fail closed").
   */
  private static String outcomeText(AdminViews.Service service) {
    String outcome = service.outcome();
    if (outcome.equals("none_qualified_fail_closed") && !"every_method".equals(service.failsClosed())) {
      return "none has every required method: each method goes to the builds serving it";
    }
    return switch (outcome) {
      case "qualified" -> "qualified";
      case "none_qualified_fail_closed" -> "none qualified: fail closed (UNAVAILABLE)";
      case "none_qualified_fail_open" -> "none qualified: fail open (unfiltered)";
      default -> outcome.toLowerCase(Locale.ROOT).replace('_', ' ');
    };
  }

  /** {@code sha256 } and the first hex digits of a policy digest. */
  private static String digest(String sha256) {
    return sha256 == null ? "sha256 ?" : "sha256 " + (sha256.length() > DIGEST_DIGITS
        ? sha256.substring(0, DIGEST_DIGITS) + ".." : sha256);
  }

  /** SYNCED when the client acknowledged what it was sent, NACKED when it rejected it, else STALE. */
  private static String sync(Map<String, AdminViews.ResourceType> resources, String type) {
    AdminViews.ResourceType resource = resources.get(type);
    if (resource == null || resource.sentVersion().isEmpty()) {
      return "-";
    }
    if (resource.lastNack() != null && resource.lastNack().version().equals(resource.sentVersion())) {
      return "NACKED v" + resource.sentVersion();
    }
    return resource.sentVersion().equals(resource.ackedVersion()) ? "SYNCED v" + resource.sentVersion()
        : "STALE (sent v" + resource.sentVersion() + ", acked v" + resource.ackedVersion() + ")";
  }

  private static String abbreviate(String hash) {
    return hash == null ? "?" : hash.substring(0, Math.min(hash.length(), 15)) + "..";
  }

  private static void print(PrintWriter out, List<List<String>> rows) {
    int[] widths = new int[rows.get(0).size()];
    for (List<String> row : rows) {
      for (int i = 0; i < row.size(); i++) {
        widths[i] = Math.max(widths[i], row.get(i).length());
      }
    }
    for (List<String> row : rows) {
      StringBuilder line = new StringBuilder();
      for (int i = 0; i < row.size(); i++) {
        line.append(i == row.size() - 1 ? row.get(i) : String.format("%-" + (widths[i] + 2) + "s", row.get(i)));
      }
      out.println(line.toString().stripTrailing());
    }
  }

  private <T> T fetch(String path, Class<T> type) throws InterruptedException {
    return new AdminClient(admin, "--admin").fetch(path, type);
  }
}
