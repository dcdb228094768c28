package dev.protomatch.xds;

import com.google.protobuf.CodedOutputStream;
import com.google.protobuf.Message;
import io.envoyproxy.controlplane.cache.Resources;
import io.envoyproxy.controlplane.cache.SnapshotResources;
import io.envoyproxy.controlplane.cache.VersionedResource;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * xDS versions derived from content, so they mean the same in every process: the same resources get the
 * same version in any process and on any replica, and different resources (practically) never share one,
 * however often the control plane restarts. A client that accepted a version from an earlier process is
 * therefore sent the new process's resources exactly when they differ from what it holds.
 *
 * <p>A resource's version is the first 16 hex digits of SHA-256 over its message type name and its
 * deterministic serialization (map entries sorted by key). The version of a resource type is the same digest
 * over the names and versions of all its resources in name order. Bytes inside a {@code google.protobuf.Any}
 * are taken as packed; they are deterministic as long as whoever packs them builds the same message in the
 * same way (protomatch's builder does).
 */
public final class ContentVersions {
  private static final int HEX_DIGITS = 16;

  private ContentVersions() {}

  /** The version of one resource. */
  public static String of(Message resource) {
    MessageDigest sha256 = sha256();
    sha256.update(resource.getDescriptorForType().getFullName().getBytes(StandardCharsets.UTF_8));
    sha256.update((byte) 0);
    sha256.update(deterministicBytes(resource));
    return hex(sha256.digest());
  }

  /** The version of a whole resource type, from its resources' names and versions. */
  public static String ofType(Map<String, String> versionsByName) {
    MessageDigest sha256 = sha256();
    new TreeMap<>(versionsByName).forEach((name, version) -> {
      sha256.update(name.getBytes(StandardCharsets.UTF_8));
      sha256.update((byte) 0);
      sha256.update(version.getBytes(StandardCharsets.UTF_8));
      sha256.update((byte) '\n');
    });
    return hex(sha256.digest());
  }

  /**
   * The resources as java-control-plane holds them: each with its own content version (what delta clients
   * compare), the whole type with the type's content version (what state-of-the-world clients compare).
   */
  public static <T extends Message> SnapshotResources<T> resources(List<T> resources) {
    Map<String, String> versions = new TreeMap<>();
    List<VersionedResource<T>> versioned = new ArrayList<>(resources.size());
    for (T resource : resources) {
      String version = of(resource);
      String name = Resources.getResourceName(resource);
      if (versions.put(name, version) != null) {
        throw new IllegalArgumentException("two resources named '" + name + "' of type "
            + resource.getDescriptorForType().getFullName());
      }
      versioned.add(VersionedResource.create(resource, version));
    }
    return SnapshotResources.create(versioned, ofType(versions));
  }

  /**
   * Like {@link #resources(List)}, but a resource that is the very object of that name in {@code previous} keeps
   * its version instead of being serialized and digested again (the snapshot builder reuses the objects of
   * services whose decision did not change). The versions are the ones {@link #resources(List)} gives.
   */
  public static <T extends Message> SnapshotResources<T> resources(List<T> resources, SnapshotResources<T> previous) {
    Map<String, VersionedResource<T>> before = previous.versionedResources();
    Map<String, String> versions = new TreeMap<>();
    List<VersionedResource<T>> versioned = new ArrayList<>(resources.size());
    for (T resource : resources) {
      String name = Resources.getResourceName(resource);
      VersionedResource<T> old = before.get(name);
      VersionedResource<T> next = old != null && old.resource() == resource ? old
          : VersionedResource.create(resource, of(resource));
      if (versions.put(name, next.version()) != null) {
        throw new IllegalArgumentException("two resources named '" + name + "' of type "
            + resource.getDescriptorForType().getFullName());
      }
      versioned.add(next);
    }
    return SnapshotResources.create(versioned, ofType(versions));
  }

  private static byte[] deterministicBytes(Message message) {
    byte[] bytes = new byte[message.getSerializedSize()];
    CodedOutputStream out = CodedOutputStream.newInstance(bytes);
    out.useDeterministicSerialization();
    try {
      message.writeTo(out);
    } catch (IOException e) {
      throw new UncheckedIOException("serializing into an array of the exact size cannot fail", e);
    }
    out.checkNoSpaceLeft();
    return bytes;
  }

  private static MessageDigest sha256() {
    try {
      return MessageDigest.getInstance("SHA-256");
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException("every Java runtime has SHA-256", e);
    }
  }

  private static String hex(byte[] digest) {
    return HexFormat.of().formatHex(digest).substring(0, HEX_DIGITS);
  }
}
