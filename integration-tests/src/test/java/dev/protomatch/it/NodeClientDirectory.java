package dev.protomatch.it;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * integration-tests/node-client, ready to run: Node.js must be on PATH, and a fresh clone gets exactly the
 * lockfile's packages ({@code npm ci}, as .ci/run does) the first time a test needs them.
 */
final class NodeClientDirectory {
  private NodeClientDirectory() {}

  static Path prepare(Path root, String test) throws IOException, InterruptedException {
    Path client = root.resolve("integration-tests/node-client");
    Path log = Files.createTempFile("node-client-", ".log");
    try {
      if (run(List.of("node", "--version"), client, log, 30, test) != 0) {
        throw new AssertionError("node --version failed:\n" + Files.readString(log));
      }
      if (!Files.isDirectory(client.resolve("node_modules/@grpc/grpc-js-xds"))
          && run(List.of("npm", "ci", "--no-audit", "--no-fund"), client, log, 300, test) != 0) {
        throw new AssertionError("npm ci in " + client + " failed:\n" + Files.readString(log));
      }
    } finally {
      Files.deleteIfExists(log);
    }
    return client;
  }

  private static int run(List<String> command, Path directory, Path log, long timeoutSeconds, String test)
      throws IOException, InterruptedException {
    Process process;
    try {
      process = new ProcessBuilder(command).directory(directory.toFile())
          .redirectErrorStream(true).redirectOutput(ProcessBuilder.Redirect.appendTo(log.toFile())).start();
    } catch (IOException e) {
      throw new AssertionError(test + " needs Node.js (node >= 18) and npm on PATH for the grpc-js-xds client in "
          + directory + ", and could not run " + command.get(0) + ": " + e.getMessage(), e);
    }
    process.getOutputStream().close();
    if (!process.waitFor(timeoutSeconds, TimeUnit.SECONDS)) {
      process.destroyForcibly().waitFor(10, TimeUnit.SECONDS);
      return -1;
    }
    return process.exitValue();
  }
}
