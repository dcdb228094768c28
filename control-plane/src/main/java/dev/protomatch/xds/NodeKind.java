package dev.protomatch.xds;

import io.envoyproxy.envoy.config.core.v3.Node;
import java.util.Locale;

/**
 * The two kinds of xDS client protomatch serves, which need different listeners: an Envoy sidecar gets a
 * real listener with a port, a proxyless gRPC client gets an API listener per {@code xds:///} target (an
 * Envoy would reject API listeners, and a gRPC client would ignore the port listener).
 */
public enum NodeKind {
  ENVOY,
  PROXYLESS;

  /** Envoy identifies itself with {@code user_agent_name: envoy}; every gRPC library with its own name. */
  public static NodeKind of(Node node) {
    return node.getUserAgentName().toLowerCase(Locale.ROOT).equals("envoy") ? ENVOY : PROXYLESS;
  }

  /** The java-control-plane node group key. */
  public String group() {
    return name().toLowerCase(Locale.ROOT);
  }
}
