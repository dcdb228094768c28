package dev.protomatch.benchmarks;

import com.google.protobuf.DescriptorProtos.FileDescriptorSet;
import com.google.protobuf.Descriptors.FileDescriptor;
import dev.protomatch.descriptor.DescriptorHasher;
import dev.protomatch.descriptor.DescriptorSetFingerprint;
import dev.protomatch.descriptor.RuntimeDescriptors;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.Warmup;

/**
 * Hashing a real, large descriptor set: the Envoy xDS API (every discovery service, the bootstrap, the HTTP
 * connection manager, router, RBAC and TLS extensions, and everything they import: 100+ files), as java-control-plane ships it.
 *
 * <ul>
 *   <li>{@code cold}: bytes the hasher has never seen: parse, link, canonicalize and digest every service.
 *   <li>{@code cached}: the same bytes again, as on every re-registration and re-probe: one SHA-256 of the
 *       input and a cache lookup.
 * </ul>
 *
 * <p>Run: {@code java -jar benchmarks/target/benchmarks.jar DescriptorHashBenchmark}.
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.SampleTime)
@OutputTimeUnit(TimeUnit.MICROSECONDS)
@Warmup(iterations = 3, time = 2)
@Measurement(iterations = 5, time = 2)
@Fork(1)
public class DescriptorHashBenchmark {
  private byte[] envoyApi;
  private DescriptorHasher warmHasher;

  @Setup(Level.Trial)
  public void setUp() {
    FileDescriptorSet set = RuntimeDescriptors.fileDescriptorSet(envoyApiFiles());
    if (set.getFileCount() < 100) {
      throw new IllegalStateException("benchmark input has only " + set.getFileCount() + " files; expected 100+");
    }
    envoyApi = set.toByteArray();
    warmHasher = new DescriptorHasher();
    DescriptorSetFingerprint fingerprint = warmHasher.fingerprint(envoyApi, "envoy-api");
    System.out.printf("%n# input: %d files, %d bytes, %d services%n",
        set.getFileCount(), envoyApi.length, fingerprint.services().size());
  }

  @Benchmark
  public DescriptorSetFingerprint cold() {
    return new DescriptorHasher().fingerprint(envoyApi, "envoy-api");
  }

  @Benchmark
  public DescriptorSetFingerprint cached() {
    return warmHasher.fingerprint(envoyApi, "envoy-api");
  }

  static FileDescriptor[] envoyApiFiles() {
    return new FileDescriptor[] {
        io.envoyproxy.envoy.config.bootstrap.v3.BootstrapProto.getDescriptor(),
        io.envoyproxy.envoy.service.discovery.v3.AdsProto.getDescriptor(),
        io.envoyproxy.envoy.service.cluster.v3.CdsProto.getDescriptor(),
        io.envoyproxy.envoy.service.endpoint.v3.EdsProto.getDescriptor(),
        io.envoyproxy.envoy.service.listener.v3.LdsProto.getDescriptor(),
        io.envoyproxy.envoy.service.route.v3.RdsProto.getDescriptor(),
        io.envoyproxy.envoy.service.secret.v3.SdsProto.getDescriptor(),
        io.envoyproxy.envoy.service.load_stats.v3.LrsProto.getDescriptor(),
        io.envoyproxy.envoy.service.health.v3.HdsProto.getDescriptor(),
        io.envoyproxy.envoy.service.auth.v3.ExternalAuthProto.getDescriptor(),
        io.envoyproxy.envoy.service.ratelimit.v3.RlsProto.getDescriptor(),
        io.envoyproxy.envoy.service.accesslog.v3.AlsProto.getDescriptor(),
        io.envoyproxy.envoy.service.metrics.v3.MetricsServiceProto.getDescriptor(),
        io.envoyproxy.envoy.service.status.v3.CsdsProto.getDescriptor(),
        io.envoyproxy.envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManagerProto
            .getDescriptor(),
        io.envoyproxy.envoy.extensions.filters.http.router.v3.RouterProto.getDescriptor(),
        io.envoyproxy.envoy.extensions.filters.http.rbac.v3.RbacProto.getDescriptor(),
        io.envoyproxy.envoy.extensions.transport_sockets.tls.v3.TlsProto.getDescriptor(),
    };
  }
}
