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
        "Prints 'FILE: ok (N services)', after a warning line for each likely mistake (required method names a",
        "letter or two apart) and for each reference that does not hold on this machine (token file, token",
        "variable), or every problem as 'FILE:LINE:COLUMN: message' on stderr and exits with 2."})
final class ValidateCommand implements Callable<Integer> {
  @Spec
  CommandSpec spec;

  @Parameters(paramLabel = "FILE", description = "The policy file (YAML).")
  Path file;

  @Option(names = "--skip-reference-checks",
      description = "Do not warn when settings.auth's token file is not readable or its token variable not set"
          + " on this machine (for checking a file on a machine other than the control plane's, such as CI).")
  boolean skipReferenceChecks;

  @Override
  public Integer call() {
    byte[] content = InputFiles.read(file, "policy file");
    PolicyDocument document;
    try {
      document = PolicyParser.withoutReferenceChecks().parse(file.toString(), content);
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
    if (!skipReferenceChecks) {
      // What the file refers to outside itself (the token file, the token variable) is checked on this machine,
      // which need not be the control plane's: a warning here, an error where serve loads it.
      try {
        new PolicyParser().parse(file.toString(), content);
      } catch (PolicyValidationException e) {
        for (PolicyError error : e.errors()) {
          out.println(error.file() + ":" + error.line() + ":" + error.column() + ": warning: " + error.message()
              + " on this machine; serve refuses the policy where this holds");
        }
      }
    }
    for (String warning : dev.protomatch.policy.PolicyWarnings.of(document)) {
      out.println(file + ": warning: " + warning);
    }
    out.println(file + ": ok (" + services + (services == 1 ? " service)" : " services)"));
    out.flush();
    return 0;
  }
}
