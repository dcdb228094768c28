package dev.protomatch.bootstrap;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The bootstraps a client needs to reach protomatch: envoy-config's {@code proxyless-bootstrap.json} (for
 * {@code GRPC_XDS_BOOTSTRAP}) and {@code envoy-sidecar.yaml}, with the xDS server's address, the node id and the
 * node cluster replaced. The files themselves are the templates (copied into the jar), so what is printed is
 * what envoy-config's tests check against Envoy's and gRPC's rules, with other values.
 */
public final class Bootstraps {
  private static final ObjectMapper JSON = new ObjectMapper();
  /** The xDS cluster's address in envoy-sidecar.yaml: the socket address after the protomatch_xds cluster's name. */
  private static final Pattern ENVOY_XDS_ADDRESS = Pattern.compile(
      "(- name: protomatch_xds[\\s\\S]*?address: )127\\.0\\.0\\.1(\\s+port_value: )18000");
  private static final Pattern ENVOY_XDS_TYPE = Pattern.compile("(- name: protomatch_xds[\\s\\S]*?\\n      type: )STATIC");
  private static final Pattern ENVOY_NODE_ID = Pattern.compile("(?m)^(  id: )sidecar-0$");
  private static final Pattern ENVOY_NODE_CLUSTER = Pattern.compile("(?m)^(  cluster: )demo-caller$");

  /**
   * Where clients reach protomatch and who they are.
   *
   * @param xdsHost host name or IP literal of protomatch's xDS port
   */
  public record Target(String xdsHost, int xdsPort, String nodeId, String nodeCluster) {}

  private Bootstraps() {}

  /** A gRPC xDS bootstrap (JSON) for proxyless clients. */
  public static String proxyless(Target target) {
    try {
      ObjectNode bootstrap = (ObjectNode) JSON.readTree(template("proxyless-bootstrap.json"));
      ((ObjectNode) ((ArrayNode) bootstrap.get("xds_servers")).get(0))
          .put("server_uri", hostPort(target.xdsHost(), target.xdsPort()));
      ObjectNode node = (ObjectNode) bootstrap.get("node");
      node.put("id", target.nodeId());
      node.put("cluster", target.nodeCluster());
      return JSON.writerWithDefaultPrettyPrinter().writeValueAsString(bootstrap) + "\n";
    } catch (IOException e) {
      throw new UncheckedIOException("the bundled proxyless bootstrap cannot be read", e);
    }
  }

  /** An Envoy sidecar bootstrap (YAML); a host name rather than an IP makes the xDS cluster STRICT_DNS. */
  public static String envoy(Target target) {
    String yaml = template("envoy-sidecar.yaml");
    if (dev.protomatch.registry.IpLiterals.canonical(target.xdsHost()).isEmpty()) {
      yaml = replaceOnce(ENVOY_XDS_TYPE, yaml, "$1STRICT_DNS");
    }
    yaml = replaceOnce(ENVOY_XDS_ADDRESS, yaml, "$1" + Matcher.quoteReplacement(yamlScalar(target.xdsHost())) + "$2"
        + target.xdsPort());
    yaml = replaceOnce(ENVOY_NODE_ID, yaml, "$1" + Matcher.quoteReplacement(yamlScalar(target.nodeId())));
    return replaceOnce(ENVOY_NODE_CLUSTER, yaml, "$1" + Matcher.quoteReplacement(yamlScalar(target.nodeCluster())));
  }

  private static String replaceOnce(Pattern pattern, String text, String replacement) {
    Matcher matcher = pattern.matcher(text);
    if (!matcher.find()) {
      throw new IllegalStateException("the bundled envoy-sidecar.yaml no longer matches " + pattern);
    }
    return matcher.replaceFirst(replacement);
  }

  /** {@code text} as a YAML scalar: JSON's double-quoted form is valid YAML. */
  private static String yamlScalar(String text) {
    try {
      return JSON.writeValueAsString(text);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  private static String hostPort(String host, int port) {
    return (host.indexOf(':') >= 0 ? "[" + host + "]" : host) + ":" + port;
  }

  private static String template(String name) {
    try (InputStream in = Bootstraps.class.getResourceAsStream(name)) {
      if (in == null) {
        throw new IllegalStateException("the bundled " + name + " is missing from the jar");
      }
      return new String(in.readAllBytes(), StandardCharsets.UTF_8);
    } catch (IOException e) {
      throw new UncheckedIOException("the bundled " + name + " cannot be read", e);
    }
  }
}
