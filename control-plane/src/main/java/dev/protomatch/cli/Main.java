package dev.protomatch.cli;

import dev.protomatch.descriptor.InvalidDescriptorException;
import picocli.CommandLine;

/** Entry point of {@code bin/protomatch} and {@code java -jar protomatch.jar}. */
public final class Main {
  /** Bad input from the operator (also picocli's code for usage errors). */
  public static final int EXIT_USER_ERROR = 2;

  private Main() {}

  public static void main(String[] args) {
    System.exit(commandLine().execute(args));
  }

  /** The configured command line, for tests that run commands in-process and capture output. */
  public static CommandLine commandLine() {
    CommandLine commandLine = new CommandLine(new ProtomatchCommand());
    inheritVersion(commandLine, commandLine.getCommandSpec().version());
    commandLine.setExecutionExceptionHandler((exception, cmd, parseResult) -> {
      if (exception instanceof InvalidDescriptorException || exception instanceof UserInputException) {
        cmd.getErr().println("protomatch " + cmd.getCommandName() + ": " + exception.getMessage());
        cmd.getErr().flush();
        return EXIT_USER_ERROR;
      }
      throw exception;
    });
    return commandLine;
  }

  /** {@code -V} on every subcommand prints protomatch's version, not an empty line. */
  private static void inheritVersion(CommandLine parent, String[] version) {
    for (CommandLine sub : parent.getSubcommands().values()) {
      if (sub.getCommandSpec().version().length == 0) {
        sub.getCommandSpec().version(version);
      }
      inheritVersion(sub, version);
    }
  }
}
