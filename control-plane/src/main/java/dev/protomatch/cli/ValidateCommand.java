package dev.protomatch.cli;

import dev.protomatch.policy.PolicyDocument;
import dev.protomatch.policy.PolicyError;
import dev.protomatch.policy.PolicyParser;
import dev.protomatch.policy.PolicyValidationException;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

/** {@code protomatch validate}: checks a policy file the way the control plane would load it. */
@Command(
    name = "validate",
    mixinStandardHelpOptions = true,
    description = {
        "Checks a policy file (see docs/policies.md) the way serve loads it.",
        "Prints 'FILE: ok (N services)', after a 'FILE: warning: ...' line for each likely mistake (required",
        "method names a letter or two apart), or every problem as 'FILE:LINE:COLUMN: message' on stderr and exits",
        "with 2."})
final class ValidateCommand implements Callable<Integer> {
  @Spec
  CommandSpec spec;

  @Parameters(paramLabel = "FILE", description = "The policy file (YAML).")
  Path file;

  @Option(names = "--skip-reference-checks",
      description = "Do not check that settings.auth's token file is readable and its token variable is set"
          + " (for checking a file on a machine other than the control plane's, such as CI).")
  boolean skipReferenceChecks;

  @Override
  public Integer call() {
    byte[] content = InputFiles.read(file, "policy file");
    PolicyParser parser = skipReferenceChecks ? PolicyParser.withoutReferenceChecks() : new PolicyParser();
    PolicyDocument document;
    try {
      document = parser.parse(file.toString(), content);
    } catch (PolicyValidationException e) {
      PrintWriter err = spec.commandLine().getErr();
      for (PolicyError error : e.errors()) {
        err.println(error);
      }
      err.flush();
      return Main.EXIT_USER_ERROR;
    }
    int services = document.services().size();
    PrintWriter out = spec.commandLine().getOut();
    for (String warning : dev.protomatch.policy.PolicyWarnings.of(document)) {
      out.println(file + ": warning: " + warning);
    }
    out.println(file + ": ok (" + services + (services == 1 ? " service)" : " services)"));
    out.flush();
    return 0;
  }
}
