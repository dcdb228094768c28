package dev.protomatch.cli;

import dev.protomatch.descriptor.DescriptorHasher;
import dev.protomatch.descriptor.DescriptorSetFingerprint;
import dev.protomatch.descriptor.HashLevel;
import dev.protomatch.descriptor.ServiceFingerprint;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/** {@code protomatch hash}: the descriptor hashes of the services in a protoc descriptor set. */
@Command(
    name = "hash",
    mixinStandardHelpOptions = true,
    description = {
        "Prints the descriptor hashes of the services in a FileDescriptorSet.",
        "One line per service and level: <service> <level> <hash>",
        "Write the set with: protoc --include_imports --descriptor_set_out=FILE ..."})
final class HashCommand implements Callable<Integer> {
  enum Level { api, schema, both }

  @Spec
  CommandSpec spec;

  @Option(names = "--descriptor-set", required = true, paramLabel = "FILE",
      description = "Serialized google.protobuf.FileDescriptorSet, with imports.")
  Path descriptorSet;

  @Option(names = "--service", paramLabel = "NAME",
      description = "Only this service (full name, e.g. demo.Greeter). Default: every service in the set.")
  String service;

  @Option(names = "--level", paramLabel = "LEVEL", defaultValue = "both",
      description = "api, schema or both (default: ${DEFAULT-VALUE}).")
  Level level;

  @Override
  public Integer call() {
    String source = descriptorSet.toString();
    DescriptorSetFingerprint fingerprint =
        new DescriptorHasher().fingerprint(InputFiles.read(descriptorSet, "descriptor set"), source);
    List<ServiceFingerprint> services = service == null
        ? List.copyOf(fingerprint.services().values())
        : List.of(fingerprint.service(service, source));
    List<HashLevel> levels = switch (level) {
      case api -> List.of(HashLevel.API);
      case schema -> List.of(HashLevel.SCHEMA);
      case both -> List.of(HashLevel.API, HashLevel.SCHEMA);
    };
    PrintWriter out = spec.commandLine().getOut();
    for (ServiceFingerprint s : services) {
      for (HashLevel l : levels) {
        out.println(s.service() + " " + l.id() + " " + s.hash(l));
      }
    }
    out.flush();
    return 0;
  }
}
