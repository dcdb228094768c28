package dev.protomatch.admin;

import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;

/**
 * The operator's status page, {@code GET /} on the admin port: one table per service listing every endpoint
 * claiming it, once: included (green; amber with the reason it did not qualify when it takes calls only because
 * the policy fails open) or excluded with the reason (red: the build does not match; amber: what it
 * serves is not known or not trusted yet; grey: gone or unreachable), under a header naming the policy in
 * force and the number of connected xDS clients. It refreshes itself every {@value #REFRESH_SECONDS} seconds.
 *
 * <p>Pure: the same {@link AdminViews} documents the JSON API serves go in, an HTML string comes out, so the
 * page and {@code /v1/*} cannot disagree. Plain server-rendered HTML with inline CSS and no script. Every
 * value is HTML-escaped: addresses, labels, reasons and policy sources come from registrations, reflection
 * and files.
 *
 * <p>Stable hooks for tests and scrapers: {@code table.service[data-service][data-cluster][data-outcome]} (with
 * {@code .failing-closed[data-methods]} in its caption when some methods fail closed),
 * rows {@code tr.endpoint.included|excluded[data-address][data-reason-code][data-reason-class]} (an included row
 * taking calls only because the policy fails open is {@code tr.endpoint.included.unqualified} with
 * {@code [data-unqualified-reason-code]}: why it did not qualify), and
 * {@code #policy-source}, {@code #policy-version}, {@code #xds-clients[data-count]} in the header, and
 * {@code .rejected-snapshot[data-node-group]} for each node group whose newest snapshot the pre-flight check
 * refused. The Replicas section: {@code section#replicas[data-registry][data-policy-mismatches]},
 * {@code #applied-revision[data-revision]}, {@code #probe-leader}, {@code #etcd-trouble} while etcd is
 * unreachable, {@code .policy-mismatch[data-peer]} (a warning per peer running another policy) and rows
 * {@code tr.replica.self|peer.same-policy|other-policy[data-replica]}.
 */
public final class StatusPage {
  public static final int REFRESH_SECONDS = 5;
  private static final int HASH_DIGITS = 12;

  private static final Map<String, String> REASON_CLASSES = Map.of(
      "hash_mismatch", "mismatch",
      "missing_methods", "mismatch",
      "incompatible_methods", "mismatch",
      "quarantined", "mismatch",
      "awaiting_probe", "unknown",
      "unknown_surface", "unknown",
      "reflection_unavailable", "unknown",
      "lease_expired", "gone",
      "probe_failed", "gone");

  private static final String STYLE = """
      body{font:14px/1.4 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;margin:0;color:#202124;background:#fff}
      header{background:#202124;color:#fff;padding:12px 20px}
      header h1{margin:0 0 6px;font-size:20px}
      header dl{display:flex;flex-wrap:wrap;gap:4px 28px;margin:0}
      header dt{color:#bdc1c6;font-size:12px}
      header dd{margin:0;font-weight:600}
      header dd code{font-weight:400}
      header div{display:flex;flex-direction:column}
      main{padding:8px 20px 20px}
      .notice{margin:12px 0;padding:8px 12px;border-radius:4px;background:#fef7e0;color:#8a5a00}
      .notice.rejected{background:#fce8e6;color:#a50e0e}
      table.service{border-collapse:collapse;width:100%;margin:16px 0 8px;table-layout:fixed}
      table.service caption{text-align:left;padding:6px 0}
      .service-name{font-size:17px;font-weight:700;margin-right:8px}
      .facts{color:#5f6368;margin-top:2px}
      .facts span{margin-right:16px}
      th,td{text-align:left;padding:5px 8px;border-bottom:1px solid #dadce0;vertical-align:top;overflow-wrap:anywhere}
      th{background:#f8f9fa;font-size:12px;text-transform:uppercase;letter-spacing:.04em;color:#5f6368}
      code{font-family:ui-monospace,SFMono-Regular,Menlo,Consolas,monospace;font-size:12.5px}
      .methods{display:block;color:#5f6368;font-size:12px}
      .label{display:inline-block;background:rgba(0,0,0,.06);border-radius:3px;padding:0 5px;margin:1px 4px 1px 0;font-size:12px}
      .status{font-weight:700;white-space:nowrap}
      .routed{display:block;color:#5f6368;font-size:12px}
      tr.included{background:#e6f4ea}tr.included .status{color:#137333}
      tr.included.unqualified{background:#fef7e0}tr.included.unqualified .status{color:#8a5a00}
      tr.reason-mismatch{background:#fce8e6}tr.reason-mismatch .status{color:#a50e0e}
      tr.reason-unknown{background:#fef7e0}tr.reason-unknown .status{color:#8a5a00}
      tr.reason-gone{background:#f1f3f4;color:#5f6368}tr.reason-gone .status{color:#5f6368}
      tr.empty td{color:#5f6368;font-style:italic}
      .outcome{display:inline-block;border-radius:10px;padding:0 8px;font-size:12px;font-weight:700}
      .outcome-qualified{background:#e6f4ea;color:#137333}
      .outcome-none_qualified_fail_closed{background:#fce8e6;color:#a50e0e}
      .outcome-none_qualified_fail_open{background:#fef7e0;color:#8a5a00}
      section#replicas h2{font-size:15px;margin:14px 0 4px}
      table.replicas{border-collapse:collapse;margin:4px 0 8px}
      tr.replica.other-policy{background:#fce8e6}tr.replica.other-policy .policy{color:#a50e0e;font-weight:700}
      tr.replica.self td:first-child{font-weight:700}
      footer{padding:0 20px 20px;color:#5f6368;font-size:12px}
      footer .swatch{display:inline-block;padding:0 6px;margin-right:8px;border-radius:3px}
      footer a{color:#1a73e8}
      """;

  private StatusPage() {}

  /** Without the Replicas section. */
  public static String render(AdminViews.Services services, AdminViews.Endpoints endpoints,
                              AdminViews.Policies policy, AdminViews.Clients clients) {
    return render(services, endpoints, policy, clients, null);
  }

  /**
   * @param services the current decision's view, or null before the first decision
   * @param endpoints the registry's view, for each endpoint's method list and labels
   * @param replicas this replica and its peers, or null to leave the Replicas section out
   */
  public static String render(AdminViews.Services services, AdminViews.Endpoints endpoints,
                              AdminViews.Policies policy, AdminViews.Clients clients, AdminViews.Replicas replicas) {
    StringBuilder html = new StringBuilder(8192);
    html.append("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n")
        .append("<meta http-equiv=\"refresh\" content=\"").append(REFRESH_SECONDS).append("\">\n")
        .append("<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n")
        .append("<title>protomatch status</title>\n<style>\n").append(STYLE).append("</style>\n</head>\n<body>\n");
    header(html, services, policy, clients);
    html.append("<main id=\"services\">\n");
    if (policy.lastReload() != null && !policy.lastReload().accepted()) {
      html.append("<div id=\"last-reload\" class=\"notice rejected\">Last policy reload (")
          .append(escape(policy.lastReload().at())).append(") was rejected; version ").append(policy.version())
          .append(" stays in force: ").append(escape(String.join("; ", policy.lastReload().errors())))
          .append("</div>\n");
    }
    if (clients.rejectedSnapshots() != null) {
      for (AdminViews.RejectedSnapshot rejected : clients.rejectedSnapshots()) {
        html.append("<div class=\"notice rejected rejected-snapshot\" data-node-group=\"")
            .append(escape(rejected.nodeGroup())).append("\">The newest ").append(escape(rejected.nodeGroup()))
            .append(" snapshot (").append(escape(rejected.at())).append(") was refused by the pre-flight check; ")
            .append(rejected.versionsInForce().isEmpty() ? "nothing is published for these clients yet"
                : "the last good one stays in force")
            .append(": ").append(escape(String.join("; ", rejected.problems()))).append("</div>\n");
      }
    }
    if (replicas != null) {
      replicas(html, replicas);
    }
    if (services == null) {
      html.append("<div id=\"no-decision\" class=\"notice\">No routing decision yet: the control plane is starting.")
          .append("</div>\n");
    } else if (services.services().isEmpty()) {
      html.append("<div id=\"no-services\" class=\"notice\">The policy names no services.</div>\n");
    } else {
      Map<String, AdminViews.Endpoint> byAddress = new HashMap<>();
      endpoints.endpoints().forEach(endpoint -> byAddress.put(endpoint.address(), endpoint));
      for (AdminViews.Service service : services.services()) {
        service(html, service, byAddress);
      }
    }
    html.append("</main>\n");
    footer(html);
    return html.append("</body>\n</html>\n").toString();
  }

  /** Red for a build that does not match, amber for one not known or not trusted yet, grey for one gone. */
  static String reasonClass(String reasonCode) {
    return REASON_CLASSES.getOrDefault(reasonCode, "unknown");
  }

  private static void header(StringBuilder html, AdminViews.Services services, AdminViews.Policies policy,
                             AdminViews.Clients clients) {
    html.append("<header>\n<h1>protomatch</h1>\n<dl>\n");
    fact(html, "policy-source", "Policy", "<code>" + escape(policy.source()) + "</code>");
    html.append("<div><dt>Policy version</dt><dd id=\"policy-version\" data-version=\"").append(policy.version())
        .append("\" title=\"sha256 ").append(escape(policy.sha256())).append("\">").append(policy.version())
        .append(" <code>(loaded ").append(escape(policy.loadedAt())).append(")</code></dd></div>\n");
    int connected = clients.clients().size();
    html.append("<div><dt>xDS clients</dt><dd id=\"xds-clients\" data-count=\"").append(connected).append("\">")
        .append(connected).append(" connected</dd></div>\n");
    if (services != null) {
      fact(html, "decided-at", "Decided", "<code>" + escape(services.decidedAt()) + "</code> (registry version "
          + services.registryVersion() + ")");
    }
    html.append("</dl>\n</header>\n");
  }

  /**
   * The registry and its applied etcd revision, a warning per peer running another policy (and one while etcd
   * is unreachable), and a row per replica.
   */
  private static void replicas(StringBuilder html, AdminViews.Replicas replicas) {
    AdminViews.Replica me = replicas.replica();
    html.append("<section id=\"replicas\" data-registry=\"").append(escape(me.registry()))
        .append("\" data-policy-mismatches=\"").append(replicas.policyMismatches()).append("\">\n<h2>Replicas</h2>\n");
    if (Boolean.FALSE.equals(me.connected())) {
      html.append("<div id=\"etcd-trouble\" class=\"notice rejected\">etcd is unreachable; this replica serves its"
          + " last decision and refuses registrations (retryable): ").append(escape(me.lastError())).append("</div>\n");
    }
    for (AdminViews.Peer peer : replicas.peers()) {
      if (!peer.samePolicy()) {
        html.append("<div class=\"notice rejected policy-mismatch\" data-peer=\"").append(escape(peer.id()))
            .append("\">Replica <code>").append(escape(peer.id())).append("</code> runs another policy (")
            .append(digest(peer.policySha256())).append(", version ").append(peer.policyVersion())
            .append(") than this replica (").append(digest(me.policySha256()))
            .append("): the replicas may route differently.</div>\n");
      }
    }
    html.append("<div class=\"facts\"><span>registry <code>").append(escape(me.registry())).append("</code></span>");
    if (me.appliedRevision() != null) {
      html.append("<span>applied etcd revision <code id=\"applied-revision\" data-revision=\"")
          .append(me.appliedRevision()).append("\">").append(me.appliedRevision()).append("</code></span>");
    }
    if (me.probeLeader() != null) {
      html.append("<span>probing: <code id=\"probe-leader\">").append(escape(me.probeLeader())).append("</code></span>");
    }
    html.append("</div>\n<table class=\"replicas\">\n<thead><tr><th>Replica</th><th>Policy</th><th>Started</th>")
        .append("<th>Admin</th></tr></thead>\n<tbody>\n");
    html.append("<tr class=\"replica self\" data-replica=\"").append(escape(me.id())).append("\"><td><code>")
        .append(escape(me.id())).append("</code> (this one)</td><td class=\"policy\">").append(digest(me.policySha256()))
        .append(" v").append(me.policyVersion()).append("</td><td><code>").append(escape(me.startedAt()))
        .append("</code></td><td></td></tr>\n");
    for (AdminViews.Peer peer : replicas.peers()) {
      html.append("<tr class=\"replica peer ").append(peer.samePolicy() ? "same-policy" : "other-policy")
          .append("\" data-replica=\"").append(escape(peer.id())).append("\" data-same-policy=\"")
          .append(peer.samePolicy()).append("\"><td><code>").append(escape(peer.id())).append("</code></td>")
          .append("<td class=\"policy\">").append(digest(peer.policySha256())).append(" v").append(peer.policyVersion())
          .append(peer.samePolicy() ? "" : " (differs)").append("</td><td><code>").append(escape(peer.startedAt()))
          .append("</code></td><td>").append(peer.adminAddress() == null ? "" : "<code>" + escape(peer.adminAddress())
              + "</code>").append("</td></tr>\n");
    }
    html.append("</tbody>\n</table>\n</section>\n");
  }

  /** A policy digest: {@code sha256 } and its first hex digits, the whole digest in the tooltip. */
  private static String digest(String sha256) {
    String shown = sha256.length() > HASH_DIGITS ? sha256.substring(0, HASH_DIGITS) + "\u2026" : sha256;
    return "<code title=\"sha256 " + escape(sha256) + "\">sha256 " + escape(shown) + "</code>";
  }

  private static void fact(StringBuilder html, String id, String title, String valueHtml) {
    html.append("<div><dt>").append(title).append("</dt><dd id=\"").append(id).append("\">").append(valueHtml)
        .append("</dd></div>\n");
  }

  private static void service(StringBuilder html, AdminViews.Service service,
                              Map<String, AdminViews.Endpoint> byAddress) {
    String name = service.service();
    html.append("<table class=\"service\" data-service=\"").append(escape(name)).append("\" data-cluster=\"")
        .append(escape(service.cluster())).append("\" data-outcome=\"").append(escape(service.outcome()))
        .append("\">\n<caption><span class=\"service-name\">").append(escape(name)).append("</span>")
        .append("<span class=\"outcome outcome-").append(escape(service.outcome())).append("\">")
        .append(escape(outcomeText(service))).append("</span>\n<div class=\"facts\">")
        .append("<span class=\"cluster\">cluster <code>").append(escape(service.cluster())).append("</code></span>")
        .append("<span class=\"expected\">expects ").append(expectation(service.expected())).append("</span>");
    if (service.expectedSurface() != null) {
      html.append("<span class=\"expected-surface\">following build ").append(hash(service.expectedSurface().api()));
      if (service.expectedSurface().methods() != null) {
        html.append(" (").append(escape(String.join(", ", service.expectedSurface().methods()))).append(')');
      }
      html.append("</span>");
    }
    if ("some_methods".equals(service.failsClosed())) {
      html.append("<span class=\"failing-closed\" data-methods=\"")
          .append(escape(String.join(",", service.methodsFailingClosed()))).append("\">calls to ")
          .append(escape(String.join(", ", service.methodsFailingClosed())))
          .append(" fail closed (UNAVAILABLE); the other methods are routed</span>");
    }
    long unchecked = service.included().stream().filter(e -> e.unqualified() != null).count();
    html.append("<span class=\"counts\">").append(service.included().size()).append(" included")
        .append(unchecked == 0 ? "" : " (" + unchecked + " unchecked: fail-open)").append(", ")
        .append(service.excluded().size()).append(" excluded</span></div>\n</caption>\n")
        .append("<colgroup><col style=\"width:15%\"><col style=\"width:20%\"><col style=\"width:22%\">")
        .append("<col style=\"width:8%\"><col></colgroup>\n")
        .append("<thead><tr><th>Endpoint</th><th>Build</th><th>Labels</th><th>Status</th><th>Reason</th></tr></thead>\n")
        .append("<tbody>\n");
    for (AdminViews.Included endpoint : service.included()) {
      AdminViews.Endpoint known = byAddress.get(endpoint.address());
      AdminViews.Unqualified unqualified = endpoint.unqualified();
      html.append("<tr class=\"endpoint included").append(unqualified == null ? "" : " unqualified")
          .append("\" data-address=\"").append(escape(endpoint.address())).append("\" data-status=\"included\"");
      if (unqualified != null) {
        html.append(" data-unqualified-reason-code=\"").append(escape(unqualified.reasonCode())).append('"');
      }
      html.append('>');
      cells(html, endpoint.address(), endpoint.api(), name, known);
      html.append("<td class=\"status\">included</td><td class=\"reason\">");
      if (unqualified != null) {
        html.append("<span class=\"unqualified\">takes every call unchecked (fail-open); did not qualify: ")
            .append("<span class=\"reason-text\">").append(escape(unqualified.reason())).append("</span></span>");
      }
      List<String> routed = service.methodsRoutedTo(endpoint.address());
      if (service.takesSomeRoutedMethodsOnly(endpoint.address())) {
        // An older build beside a newer one: it takes the methods it serves, the others go elsewhere.
        html.append("<span class=\"routed\" data-routed-methods=\"").append(escape(String.join(",", routed)))
            .append("\">takes calls to ").append(escape(String.join(", ", routed))).append(" only</span>");
      }
      html.append("</td></tr>\n");
    }
    for (AdminViews.Excluded endpoint : service.excluded()) {
      AdminViews.Endpoint known = byAddress.get(endpoint.address());
      String reasonClass = reasonClass(endpoint.reasonCode());
      html.append("<tr class=\"endpoint excluded reason-").append(reasonClass).append("\" data-address=\"")
          .append(escape(endpoint.address())).append("\" data-status=\"excluded\" data-reason-code=\"")
          .append(escape(endpoint.reasonCode())).append("\" data-reason-class=\"").append(reasonClass).append("\">");
      cells(html, endpoint.address(), endpoint.api(), name, known);
      html.append("<td class=\"status\">excluded</td><td class=\"reason\"><span class=\"reason-text\">")
          .append(escape(endpoint.reason())).append("</span></td></tr>\n");
    }
    if (service.included().isEmpty() && service.excluded().isEmpty()) {
      html.append("<tr class=\"empty\"><td colspan=\"5\">No endpoint claims this service.</td></tr>\n");
    }
    html.append("</tbody>\n</table>\n");
  }

  private static void cells(StringBuilder html, String address, String api, String service,
                            AdminViews.Endpoint known) {
    html.append("<td class=\"address\"><code>").append(escape(address)).append("</code></td><td class=\"build\">");
    html.append(api == null ? "<span class=\"api unknown\">unknown build</span>" : hash(api));
    List<String> methods = methods(known, service);
    if (methods != null) {
      html.append("<span class=\"methods\">").append(escape(String.join(", ", methods))).append("</span>");
    }
    html.append("</td><td class=\"labels\">");
    if (known != null) {
      if (known.locality() != null) {
        html.append("<span class=\"label locality\">").append(escape(known.locality())).append("</span>");
      }
      known.labels().forEach((key, value) -> html.append("<span class=\"label\" data-label=\"").append(escape(key))
          .append("\">").append(escape(key)).append('=').append(escape(value)).append("</span>"));
    }
    html.append("</td>");
  }

  /** The methods the endpoint's build has for the service (probed, else advertised), when known. */
  private static List<String> methods(AdminViews.Endpoint endpoint, String service) {
    if (endpoint == null) {
      return null;
    }
    return endpoint.services().stream().filter(build -> service.equals(build.service()))
        .map(AdminViews.ServiceBuild::methods).filter(m -> m != null).findFirst().orElse(null);
  }

  private static String expectation(AdminViews.Expectation expected) {
    if (expected == null) {
      return "?";
    }
    return switch (expected.kind()) {
      case "methods" -> "methods <code>[" + escape(String.join(", ", expected.methods())) + "]</code>";
      case "newest" -> "the newest build";
      default -> escape(expected.kind()) + " " + hash(expected.hash());
    };
  }

  private static String outcomeText(AdminViews.Service service) {
    String outcome = service.outcome();
    if (outcome.equals("none_qualified_fail_closed") && "some_methods".equals(service.failsClosed())) {
      return "none has every required method: each method goes to the builds serving it";
    }
    return switch (outcome) {
      case "qualified" -> "qualified";
      case "none_qualified_fail_closed" -> "none qualified: fail closed (UNAVAILABLE)";
      case "none_qualified_fail_open" -> "none qualified: fail open (unfiltered)";
      default -> outcome.toLowerCase(Locale.ROOT).replace('_', ' ');
    };
  }

  /** {@code sha256:} and the first hex digits, the whole hash in the tooltip. */
  private static String hash(String value) {
    if (value == null) {
      return "<span class=\"api unknown\">unknown</span>";
    }
    String shown = value.startsWith("sha256:") && value.length() > "sha256:".length() + HASH_DIGITS
        ? value.substring(0, "sha256:".length() + HASH_DIGITS) + "\u2026" : value;
    return "<code class=\"api\" title=\"" + escape(value) + "\">" + escape(shown) + "</code>";
  }

  private static void footer(StringBuilder html) {
    html.append("<footer id=\"legend\"><p>")
        .append("<span class=\"swatch\" style=\"background:#e6f4ea\">included</span>")
        .append("<span class=\"swatch\" style=\"background:#fef7e0\">included unchecked: fail-open</span>")
        .append("<span class=\"swatch\" style=\"background:#fce8e6\">excluded: build does not match</span>")
        .append("<span class=\"swatch\" style=\"background:#fef7e0\">excluded: build unknown or untrusted</span>")
        .append("<span class=\"swatch\" style=\"background:#f1f3f4\">excluded: lease expired or probe failed</span>")
        .append("</p><p>Refreshes every ").append(REFRESH_SECONDS).append(" s. JSON: ")
        .append("<a href=\"/v1/services\">/v1/services</a> <a href=\"/v1/endpoints\">/v1/endpoints</a> ")
        .append("<a href=\"/v1/clients\">/v1/clients</a> <a href=\"/v1/policies\">/v1/policies</a> ")
        .append("<a href=\"/v1/replicas\">/v1/replicas</a></p></footer>\n");
  }

  /** HTML-escapes text for element content and double- or single-quoted attribute values. */
  static String escape(String text) {
    if (text == null) {
      return "";
    }
    StringBuilder out = null;
    for (int i = 0; i < text.length(); i++) {
      char c = text.charAt(i);
      String replacement = switch (c) {
        case '&' -> "&amp;";
        case '<' -> "&lt;";
        case '>' -> "&gt;";
        case '"' -> "&quot;";
        case '\'' -> "&#39;";
        default -> null;
      };
      if (replacement != null && out == null) {
        out = new StringBuilder(text.length() + 16).append(text, 0, i);
      }
      if (out != null) {
        if (replacement != null) {
          out.append(replacement);
        } else {
          out.append(c);
        }
      }
    }
    return out == null ? text : out.toString();
  }
}
