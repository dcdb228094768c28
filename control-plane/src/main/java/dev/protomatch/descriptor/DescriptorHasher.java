package dev.protomatch.descriptor;

import com.github.benmanes.caffeine.cache.Cache;
import com.github.benmanes.caffeine.cache.Caffeine;
import com.github.benmanes.caffeine.cache.stats.CacheStats;
import com.google.protobuf.ByteString;
import com.google.protobuf.DescriptorProtos.FileDescriptorSet;
import com.google.protobuf.Descriptors.MethodDescriptor;
import com.google.protobuf.Descriptors.ServiceDescriptor;
import com.google.protobuf.InvalidProtocolBufferException;
import java.util.Map;
import java.util.SortedMap;
import java.util.TreeMap;

/**
 * Computes {@link ServiceFingerprint}s, remembering results by the SHA-256 of the input bytes.
 *
 * <p>Endpoints re-register and are re-probed with the same descriptors over and over; with the cache, each
 * repeat costs one digest of the bytes and a lookup instead of parsing, linking and canonicalizing. Results
 * are immutable and the class is thread-safe. Invalid input is not cached (it is rare, and caching it would
 * let one bad sender evict good entries).
 */
public final class DescriptorHasher {
  /**
   * What the cache may hold, weighed by the size of the descriptor sets its entries describe (a fingerprint is
   * far smaller than its input): a registrant sending large, distinct sets evicts older entries instead of
   * growing the heap. 64 MiB is some thousands of real services' sets (a few KiB to a few hundred KiB each).
   */
  public static final long DEFAULT_MAXIMUM_INPUT_BYTES = 64L * 1024 * 1024;
  /** The least an entry weighs, so that many tiny sets cannot pile up entries beyond 64 Ki. */
  private static final int MINIMUM_WEIGHT = 1024;

  private record Entry(DescriptorSetFingerprint fingerprint, int weight) {}

  private final Cache<ByteString, Entry> cache;

  public DescriptorHasher() {
    this(DEFAULT_MAXIMUM_INPUT_BYTES);
  }

  /** @param maximumInputBytes the total size of the descriptor sets whose fingerprints the cache may hold */
  public DescriptorHasher(long maximumInputBytes) {
    this.cache = Caffeine.newBuilder().maximumWeight(maximumInputBytes)
        .weigher((ByteString key, Entry entry) -> entry.weight()).recordStats().build();
  }

  /**
   * Fingerprints every service in a serialized FileDescriptorSet.
   *
   * @param source names the input in error messages (a path, an endpoint address)
   * @throws InvalidDescriptorException if the bytes are not a complete, valid descriptor set
   */
  public DescriptorSetFingerprint fingerprint(byte[] fileDescriptorSet, String source) {
    ByteString key = ByteString.copyFrom(DescriptorHash.sha256().digest(fileDescriptorSet));
    Entry cached = cache.getIfPresent(key);
    if (cached != null) {
      return cached.fingerprint();
    }
    DescriptorSetFingerprint computed = compute(parse(fileDescriptorSet, source), source);
    cache.put(key, new Entry(computed, Math.max(MINIMUM_WEIGHT, fileDescriptorSet.length)));
    return computed;
  }

  /** Fingerprints every service in a descriptor set already in memory (serialized once for the cache key). */
  public DescriptorSetFingerprint fingerprint(FileDescriptorSet set, String source) {
    return fingerprint(set.toByteArray(), source);
  }

  /** Fingerprints one linked service, e.g. from generated classes; not cached (no bytes to key on). */
  public static ServiceFingerprint fingerprint(ServiceDescriptor service) {
    SortedMap<String, MethodSignature> methods = new TreeMap<>();
    for (MethodDescriptor method : service.getMethods()) {
      methods.put(method.getName(), CanonicalForm.signature(method));
    }
    return new ServiceFingerprint(
        service.getFullName(),
        DescriptorHash.ofCanonicalText(CanonicalForm.of(service, HashLevel.API)),
        DescriptorHash.ofCanonicalText(CanonicalForm.of(service, HashLevel.SCHEMA)),
        methods);
  }

  public CacheStats cacheStats() {
    return cache.stats();
  }

  /** Descriptor sets currently remembered. */
  public long cachedEntries() {
    cache.cleanUp();
    return cache.estimatedSize();
  }

  private static FileDescriptorSet parse(byte[] bytes, String source) {
    try {
      return FileDescriptorSet.parseFrom(bytes);
    } catch (InvalidProtocolBufferException e) {
      String detail = e.getMessage().replaceAll("\\.$", "");
      throw new InvalidDescriptorException(source + ": not a FileDescriptorSet (" + detail
          + "); expected the output of protoc --descriptor_set_out --include_imports");
    }
  }

  private static DescriptorSetFingerprint compute(FileDescriptorSet set, String source) {
    SortedMap<String, ServiceFingerprint> services = new TreeMap<>();
    for (Map.Entry<String, ServiceDescriptor> service : DescriptorSetResolver.services(set, source).entrySet()) {
      services.put(service.getKey(), fingerprint(service.getValue()));
    }
    return new DescriptorSetFingerprint(services);
  }
}
