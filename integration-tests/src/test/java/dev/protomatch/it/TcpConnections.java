package dev.protomatch.it;

import java.io.IOException;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;

/**
 * Established TCP connections one process holds to given loopback ports, read from Linux's /proc as
 * {@code ss -tnp} does: the socket inodes among /proc/PID/fd, matched against /proc/PID/net/tcp{,6}.
 * Counts what the kernel has, not what a client library believes it has. Linux only: where there is no
 * /proc, every count is 0.
 */
final class TcpConnections {
  private static final String ESTABLISHED = "01";

  private TcpConnections() {}

  /** Connections per remote port (only ports in {@code remotePorts}, remote address loopback); empty if the process is gone. */
  static Map<Integer, Integer> established(long pid, Set<Integer> remotePorts) {
    Set<String> inodes = socketInodes(pid);
    Map<Integer, Integer> byPort = new TreeMap<>();
    if (inodes.isEmpty()) {
      return byPort;
    }
    for (String table : List.of("tcp", "tcp6")) {
      for (String line : lines(Path.of("/proc", Long.toString(pid), "net", table))) {
        String[] fields = line.trim().split("\\s+");
        if (fields.length < 10 || !fields[3].equals(ESTABLISHED) || !inodes.contains(fields[9])) {
          continue;
        }
        String[] remote = fields[2].split(":");
        if (remote.length != 2 || !isLoopback(remote[0])) {
          continue;
        }
        int port = Integer.parseInt(remote[1], 16);
        if (remotePorts.contains(port)) {
          byPort.merge(port, 1, Integer::sum);
        }
      }
    }
    return byPort;
  }

  /** /proc/net/tcp writes IPv4 as 8 hex digits in host (little-endian) order: 127.x.y.z ends in 7F. */
  private static boolean isLoopback(String hex) {
    if (hex.length() == 8) {
      return hex.endsWith("7F");
    }
    // IPv6: ::1, or 127.0.0.0/8 mapped (::ffff:127.x.y.z), in four little-endian 32-bit words.
    return hex.equals("00000000000000000000000001000000")
        || (hex.startsWith("0000000000000000FFFF0000") && hex.endsWith("7F"));
  }

  private static Set<String> socketInodes(long pid) {
    Set<String> inodes = new HashSet<>();
    try (DirectoryStream<Path> fds = Files.newDirectoryStream(Path.of("/proc", Long.toString(pid), "fd"))) {
      for (Path fd : fds) {
        try {
          String target = Files.readSymbolicLink(fd).toString();
          if (target.startsWith("socket:[")) {
            inodes.add(target.substring("socket:[".length(), target.length() - 1));
          }
        } catch (IOException e) {
          // closed between listing and reading: not held any more
        }
      }
    } catch (NoSuchFileException e) {
      return Set.of();
    } catch (IOException e) {
      throw new IllegalStateException("cannot list /proc/" + pid + "/fd: " + e.getMessage(), e);
    }
    return inodes;
  }

  private static List<String> lines(Path table) {
    try {
      List<String> lines = Files.readAllLines(table);
      return lines.isEmpty() ? lines : lines.subList(1, lines.size()); // header
    } catch (NoSuchFileException e) {
      return List.of();
    } catch (IOException e) {
      throw new IllegalStateException("cannot read " + table + ": " + e.getMessage(), e);
    }
  }
}
