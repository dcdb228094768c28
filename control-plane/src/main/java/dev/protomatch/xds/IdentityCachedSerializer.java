package dev.protomatch.xds;

import com.github.benmanes.caffeine.cache.Cache;
import com.github.benmanes.caffeine.cache.Caffeine;
import com.google.protobuf.Any;
import com.google.protobuf.Message;
import io.envoyproxy.controlplane.cache.Resources;
import io.envoyproxy.controlplane.server.serializer.ProtoResourcesSerializer;
import java.util.EnumMap;
import java.util.Map;

/**
 * Packs each resource object into its {@code Any} once, for every stream that is sent it: the packed form is
 * kept while the resource object is alive (weak keys), looked up by identity.
 *
 * <p>java-control-plane's {@code CachedProtoResourcesSerializer} looks its cache up by {@code equals}, which for a
 * cache hit compares the whole resource with the cached one (every endpoint of an assignment), once per resource
 * per stream per response; at 10,000 endpoints that deep comparison was most of the fan-out's serialization
 * time. The snapshot builder hands on the same objects while a service's decision is unchanged, so identity
 * finds them; an equal resource built anew is packed once more, which costs less than comparing it.
 *
 * <p>Thread-safe (Caffeine caches); shared by every stream of an xDS server.
 */
public final class IdentityCachedSerializer implements ProtoResourcesSerializer {
  private final Map<Resources.ApiVersion, Cache<Message, Any>> caches = new EnumMap<>(Resources.ApiVersion.class);

  public IdentityCachedSerializer() {
    for (Resources.ApiVersion version : Resources.ApiVersion.values()) {
      caches.put(version, Caffeine.newBuilder().weakKeys().build()); // weak keys compare by identity
    }
  }

  @Override
  public Any serialize(Message resource, Resources.ApiVersion apiVersion) {
    return caches.get(apiVersion).get(resource, Any::pack);
  }
}
