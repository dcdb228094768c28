package dev.protomatch.cli;

import dev.protomatch.admin.AdminViews;
import dev.protomatch.policy.PolicyDocument;
import dev.protomatch.policy.PolicyError;
import dev.protomatch.policy.PolicyLocations;
import dev.protomatch.policy.PolicyParser;
import dev.protomatch.policy.PolicyValidationException;
import dev.protomatch.policy.PolicyWarnings;
import dev.protomatch.policy.Settings;
import java.io.PrintWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
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
        "letter or two apart), for each reference that does not hold on this machine (token file, token",
        "variable, including the default PROTOMATCH_REGISTRATION_TOKEN of a file without settings.auth) and,",
        "with --against, for each method it names that no live endpoint of its service serves; or every",
        "problem as 'FILE:LINE:COLUMN: message' on stderr and exits with 2."})
final class ValidateCommand implements Callable<Integer> {
  @Spec
  CommandSpec spec;

  @Parameters(paramLabel = "FILE", description = "The policy file (YAML).")
  Path file;

  @Option(names = "--skip-reference-checks",
      description = "Do not warn when settings.auth's token file is not readable or its token variable not set"
          + " on this machine (for checking a file on a machine other than the control plane's, such as CI).")
  boolean skipReferenceChecks;

  @Option(names = "--against", paramLabel = "ADMIN_URL",
      description = "A running protomatch's admin address (http://HOST:PORT or HOST:PORT): warn about each method"
          + " the file names (expect.methods, retries.without-retries) that no live endpoint of its service serves,"
          + " naming the methods the live builds do serve.")
  String against;

  @Override
  public Integer call() throws InterruptedException {
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
    PolicyLocations locations = PolicyLocations.of(new String(content, StandardCharsets.UTF_8));
    // Read before anything is printed, so an unreachable admin address is the only line.
    AdminViews.Endpoints fleet = against == null ? null
        : new AdminClient(against, "--against").fetch("/v1/endpoints", AdminViews.Endpoints.class);
    int services = document.services().size();
    PrintWriter out = spec.commandLine().getOut();
    if (!skipReferenceChecks) {
      for (String warning : referenceWarnings(content, locations)) {
        out.println(warning);
      }
    }
    for (String warning : PolicyWarnings.of(document)) {
      out.println(file + ": warning: " + warning);
    }
    if (fleet != null) {
      for (PolicyError warning : UnservedMethodWarnings.of(file.toString(), document, locations.methods(), fleet,
          against)) {
        out.println(warning.file() + ":" + warning.line() + ":" + warning.column() + ": warning: " + warning.message());
      }
    }
    out.println(file + ": ok (" + services + (services == 1 ? " service)" : " services)"));
    out.flush();
    return 0;
  }

  /**
   * What the file refers to outside itself (the token file, the token variable), checked on this machine, which
   * need not be the control plane's: a warning here, an error where serve loads it. A file without
   * {@code settings.auth} gets the default token variable checked too, as the documented example's
   * {@code token-env} is, though there serve starts and refuses every registration instead of the file.
   */
  private List<String> referenceWarnings(byte[] content, PolicyLocations locations) {
    List<String> warnings = new ArrayList<>();
    try {
      new PolicyParser().parse(file.toString(), content);
    } catch (PolicyValidationException e) {
      for (PolicyError error : e.errors()) {
        warnings.add(error.file() + ":" + error.line() + ":" + error.column() + ": warning: " + error.message()
            + " on this machine; serve refuses the policy where this holds");
      }
    }
    String variable = Settings.defaults().auth().tokenEnv().orElseThrow();
    String value = System.getenv(variable);
    if (!locations.authGiven() && (value == null || value.isEmpty())) {
      warnings.add(file + ":1:1: warning: settings.auth.token-env: environment variable '" + variable + "' is "
          + (value == null ? "not set" : "empty") + " on this machine (the default: the file sets no settings.auth);"
          + " serve starts but refuses every registration where this holds");
    }
    return warnings;
  }
}
