package dev.protomatch.cli;

import dev.protomatch.admin.AdminViews;
import java.io.PrintWriter;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/**
 * {@code protomatch status}: which endpoints take each service's calls and why not, and whether every xDS
 * client has what it was sent, as terminal tables (the admin API's /v1/services and /v1/clients).
 */
@Command(name = "status", mixinStandardHelpOptions = true,
    description = "Shows services with their endpoints (included/excluded and why) and connected xDS clients.")
final class StatusCommand implements Callable<Integer> {
  @Spec
  CommandSpec spec;

  @Option(names = "--admin", defaultValue = "http://127.0.0.1:18002", paramLabel = "URL",
      description = "protomatch's admin address (default: ${DEFAULT-VALUE}).")
  String admin;

  @Override
  public Integer call() throws Exception {
    AdminViews.Services services = fetch("/v1/services", AdminViews.Services.class);
    AdminViews.Clients clients = fetch("/v1/clients", AdminViews.Clients.class);
    PrintWriter out = spec.commandLine().getOut();

    List<List<String>> rows = new ArrayList<>();
    rows.add(List.of("SERVICE", "CLUSTER", "ENDPOINT", "STATE", "BUILD (api)", "REASON"));
    for (AdminViews.Service service : services.services()) {
      if (service.included().isEmpty() && service.excluded().isEmpty()) {
        rows.add(List.of(service.service(), service.cluster(), "-", "-", "-", "no endpoint claims this service"));
      }
      for (AdminViews.Included endpoint : service.included()) {
        rows.add(List.of(service.service(), service.cluster(), endpoint.address(), "included", abbreviate(endpoint.api()), ""));
      }
      for (AdminViews.Excluded endpoint : service.excluded()) {
        rows.add(List.of(service.service(), service.cluster(), endpoint.address(), "excluded", abbreviate(endpoint.api()),
            endpoint.reason()));
      }
    }
    print(out, rows);
    for (AdminViews.Service service : services.services()) {
      if ("every_method".equals(service.failsClosed())) {
        out.println(service.service() + ": every call fails closed (UNAVAILABLE): no method has an endpoint");
      } else if ("some_methods".equals(service.failsClosed())) {
        out.println(service.service() + ": calls to " + String.join(", ", service.methodsFailingClosed())
            + " fail closed (UNAVAILABLE): no live build the policy admits serves them; its other methods are routed");
      }
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
