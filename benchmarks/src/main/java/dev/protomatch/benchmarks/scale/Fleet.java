package dev.protomatch.benchmarks.scale;

import com.google.protobuf.DescriptorProtos.DescriptorProto;
import com.google.protobuf.DescriptorProtos.FieldDescriptorProto;
import com.google.protobuf.DescriptorProtos.FileDescriptorProto;
import com.google.protobuf.DescriptorProtos.FileDescriptorSet;
import com.google.protobuf.DescriptorProtos.MethodDescriptorProto;
import com.google.protobuf.DescriptorProtos.ServiceDescriptorProto;
import java.util.concurrent.ConcurrentHashMap;

/**
 * The synthetic fleet every scale run uses, identical in the harness, the bare control plane and the load
 * generator: {@code endpoints} endpoints over {@code services} services {@code bench.v1.Svc<i>} (cluster
 * {@code svc-<i>}, policy {@code expect: newest}), each in {@code builds} builds, build {@code k} serving
 * methods {@code M0..M<k+2>} (so every newer build adds a method). Endpoint {@code e} serves service
 * {@code e % services} in build {@code (e / services) % builds} at {@code 127.a.b.c:<port>}, where the
 * harness's {@link DarkFleet} answers: every call with UNIMPLEMENTED for a registered fleet, reflection with the
 * endpoint's build for an injected one. The marker endpoints the harness adds and removes live at
 * {@code 127.250.x.y:<port>}.
 */
public record Fleet(int endpoints, int services, int builds, int port) {
  private static final ConcurrentHashMap<Long, byte[]> SETS = new ConcurrentHashMap<>();

  public Fleet {
    if (endpoints < 1 || services < 1 || builds < 1 || endpoints > 200 * 65536) {
      throw new IllegalArgumentException("need endpoints in 1..13107200, services >= 1, builds >= 1");
    }
  }

  public static String service(int i) {
    return "bench.v1.Svc" + i;
  }

  public static String cluster(int i) {
    return "svc-" + i;
  }

  public int serviceOf(int endpoint) {
    return endpoint % services;
  }

  public int buildOf(int endpoint) {
    return (endpoint / services) % builds;
  }

  public static String host(int endpoint) {
    return "127." + (1 + endpoint / 65536) + "." + (endpoint / 256 % 256) + "." + (endpoint % 256);
  }

  /** The endpoint whose address is {@code address} ({@link #host}), or -1 if none of this fleet's is. */
  public int endpointAt(java.net.SocketAddress address) {
    if (!(address instanceof java.net.InetSocketAddress inet) || inet.getAddress() == null) {
      return -1;
    }
    byte[] ip = inet.getAddress().getAddress();
    if (ip.length != 4 || ip[0] != 127) {
      return -1;
    }
    int endpoint = ((ip[1] & 0xff) - 1) * 65536 + (ip[2] & 0xff) * 256 + (ip[3] & 0xff);
    return endpoint >= 0 && endpoint < endpoints ? endpoint : -1;
  }

  public static String markerHost(int marker) {
    return "127.250." + (marker / 256 % 256) + "." + (marker % 256);
  }

  /** The serialized FileDescriptorSet of {@code service} as build {@code build} serves it. */
  public static byte[] descriptorSet(int service, int build) {
    return SETS.computeIfAbsent(((long) service << 16) | build, key -> {
      DescriptorProto request = DescriptorProto.newBuilder().setName("Req")
          .addField(FieldDescriptorProto.newBuilder().setName("id").setNumber(1)
              .setType(FieldDescriptorProto.Type.TYPE_STRING).setLabel(FieldDescriptorProto.Label.LABEL_OPTIONAL))
          .build();
      DescriptorProto reply = DescriptorProto.newBuilder().setName("Reply")
          .addField(FieldDescriptorProto.newBuilder().setName("body").setNumber(1)
              .setType(FieldDescriptorProto.Type.TYPE_BYTES).setLabel(FieldDescriptorProto.Label.LABEL_OPTIONAL))
          .build();
      ServiceDescriptorProto.Builder svc = ServiceDescriptorProto.newBuilder().setName("Svc" + service);
      for (int m = 0; m < build + 3; m++) {
        svc.addMethod(MethodDescriptorProto.newBuilder().setName("M" + m)
            .setInputType(".bench.v1.Req").setOutputType(".bench.v1.Reply"));
      }
      FileDescriptorProto file = FileDescriptorProto.newBuilder()
          .setName("bench/v1/svc" + service + ".proto").setPackage("bench.v1").setSyntax("proto3")
          .addMessageType(request).addMessageType(reply).addService(svc).build();
      return FileDescriptorSet.newBuilder().addFile(file).build().toByteArray();
    });
  }

  /**
   * How many endpoints the assignments of all clusters hold together under {@code expect: newest}: per service,
   * one cluster per distinct set of builds serving a method (build {@code k} serves {@code M0..M<k+2>}), each
   * holding the endpoints of its builds. What an Envoy-style stream holds once it has the whole fleet.
   */
  public long assignedEndpoints() {
    long total = 0;
    for (int i = 0; i < services; i++) {
      long[] perBuild = new long[builds];
      for (int e = i; e < endpoints; e += services) {
        perBuild[buildOf(e)]++;
      }
      java.util.Set<java.util.Set<Integer>> sets = new java.util.HashSet<>();
      for (int m = 0; m < builds + 2; m++) {
        java.util.Set<Integer> serving = new java.util.TreeSet<>();
        for (int b = 0; b < builds; b++) {
          if (perBuild[b] > 0 && b + 3 > m) {
            serving.add(b);
          }
        }
        if (!serving.isEmpty() && sets.add(serving)) {
          for (int b : serving) {
            total += perBuild[b];
          }
        }
      }
    }
    return total;
  }

  /** {@link #policyYaml(int, String, boolean)} without static endpoints: the fleet registers. */
  public String policyYaml(int ttlSeconds, String probeInterval) {
    return policyYaml(ttlSeconds, probeInterval, false);
  }

  /**
   * The policy file: every service {@code expect: newest}, insecure registration, leases of {@code ttlSeconds},
   * probes every {@code probeInterval} with a 20 s timeout (on a saturated machine the default 2 s times out,
   * and a timed-out endpoint is excluded until its next probe). With {@code staticEndpoints}, the whole fleet is
   * declared in it (each service's {@code static-endpoints}: its endpoints' {@code host:port}), to be learned by
   * probing instead of registering.
   */
  public String policyYaml(int ttlSeconds, String probeInterval, boolean staticEndpoints) {
    StringBuilder yaml = new StringBuilder();
    yaml.append("settings:\n")
        .append("  lease:\n    default-ttl: ").append(ttlSeconds).append("s\n")
        .append("  probe:\n    interval: ").append(probeInterval).append("\n    timeout: 20s\n    max-backoff: ")
        .append(probeInterval.equals("15s") ? "5m" : probeInterval).append('\n')
        .append("  auth:\n    insecure: true\n")
        .append("  limits:\n    max-endpoints-per-client: ").append(Math.max(1024, endpoints * 2 + 1000)).append('\n')
        .append("services:\n");
    for (int i = 0; i < services; i++) {
      yaml.append("  - service: ").append(service(i)).append("\n    cluster: ").append(cluster(i))
          .append("\n    expect: newest\n");
      if (staticEndpoints && i < endpoints) {
        yaml.append("    static-endpoints:\n");
        for (int e = i; e < endpoints; e += services) {
          yaml.append("      - ").append(host(e)).append(':').append(port).append('\n');
        }
      }
    }
    return yaml.toString();
  }
}
