package dev.protomatch.cli;

import picocli.CommandLine.Command;
import picocli.CommandLine.HelpCommand;

/** The {@code protomatch} command; each job is a subcommand. */
@Command(
    name = "protomatch",
    mixinStandardHelpOptions = true,
    version = "protomatch 0.1.0",
    description = "xDS control plane that routes gRPC calls only to endpoints serving the expected descriptor.",
    subcommands = {ServeCommand.class, DemoCommand.class, StatusCommand.class, HashCommand.class, ValidateCommand.class,
        GreeterCommand.class, DemoClientCommand.class, BootstrapCommand.class, HelpCommand.class})
final class ProtomatchCommand {}
