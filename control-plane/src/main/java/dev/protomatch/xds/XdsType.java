package dev.protomatch.xds;

import io.envoyproxy.controlplane.cache.Resources;
import java.util.Optional;

/** The four resource types protomatch publishes, by the short names operators use for them. */
public enum XdsType {
  CDS(Resources.V3.CLUSTER_TYPE_URL),
  EDS(Resources.V3.ENDPOINT_TYPE_URL),
  LDS(Resources.V3.LISTENER_TYPE_URL),
  RDS(Resources.V3.ROUTE_TYPE_URL);

  private final String typeUrl;

  XdsType(String typeUrl) {
    this.typeUrl = typeUrl;
  }

  public String typeUrl() {
    return typeUrl;
  }

  /** The type with this v3 type URL; empty for any other URL (a client may ask for anything). */
  public static Optional<XdsType> ofTypeUrl(String typeUrl) {
    for (XdsType type : values()) {
      if (type.typeUrl.equals(typeUrl)) {
        return Optional.of(type);
      }
    }
    return Optional.empty();
  }
}
