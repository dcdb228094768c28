package dev.protomatch.cli;

import java.io.IOException;
import java.nio.file.AccessDeniedException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;

/** Reads files named on the command line, turning I/O failures into one-line operator errors. */
final class InputFiles {
  private InputFiles() {}

  static byte[] read(Path path, String what) {
    if (Files.isDirectory(path)) {
      throw new UserInputException("cannot read " + what + " '" + path + "': it is a directory");
    }
    try {
      return Files.readAllBytes(path);
    } catch (NoSuchFileException e) {
      throw new UserInputException("cannot read " + what + " '" + path + "': no such file");
    } catch (AccessDeniedException e) {
      throw new UserInputException("cannot read " + what + " '" + path + "': permission denied");
    } catch (IOException e) {
      throw new UserInputException("cannot read " + what + " '" + path + "': " + e.getMessage());
    }
  }
}
