package dev.protomatch.policy;

import dev.protomatch.policy.YamlNode.Mapping;
import dev.protomatch.policy.YamlNode.Scalar;
import dev.protomatch.policy.YamlNode.Sequence;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

/**
 * Where a valid policy file writes what {@code protomatch validate} warns about, which {@link PolicyDocument}
 * (values only) does not keep: each method name with its line and column, and whether the file gives
 * {@code settings.auth} at all. Meant for text {@link PolicyParser} accepted; parts that are not in the
 * expected shape are skipped. Pure; instances are immutable.
 */
public final class PolicyLocations {
  /**
   * One method name written in the file.
   *
   * @param serviceIndex the entry of {@code services} it is in
   * @param service that entry's service name
   * @param path where it is, spelled as errors spell it: {@code services[0].expect.methods[2]}
   * @param required true in {@code expect.methods}, false in {@code retries.without-retries}
   */
  public record MethodMention(int serviceIndex, String service, String path, String method, boolean required,
                              int line, int column) {}

  private final List<MethodMention> methods;
  private final boolean authGiven;

  private PolicyLocations(List<MethodMention> methods, boolean authGiven) {
    this.methods = List.copyOf(methods);
    this.authGiven = authGiven;
  }

  /** The locations in {@code yamlText} (UTF-8 decoded, as {@link PolicyParser#parse(String, byte[])} reads it). */
  public static PolicyLocations of(String yamlText) {
    String text = yamlText.startsWith("\uFEFF") ? yamlText.substring(1) : yamlText;
    Optional<YamlNode> root = new YamlReader(new PolicyErrors("")).read(text);
    if (root.isEmpty() || !(root.get() instanceof Mapping top)) {
      return new PolicyLocations(List.of(), false);
    }
    boolean authGiven = top.get("settings")
        .flatMap(settings -> settings instanceof Mapping m ? m.get("auth") : Optional.empty())
        .filter(auth -> !ValueReader.isNull(auth))
        .isPresent();
    List<MethodMention> methods = new ArrayList<>();
    if (top.get("services").orElse(null) instanceof Sequence services) {
      for (int i = 0; i < services.items().size(); i++) {
        if (services.items().get(i) instanceof Mapping entry
            && entry.get("service").orElse(null) instanceof Scalar name) {
          YamlPath path = YamlPath.ROOT.key("services").index(i);
          add(methods, i, name.text(), entry, "expect", "methods", path, true);
          add(methods, i, name.text(), entry, "retries", "without-retries", path, false);
        }
      }
    }
    return new PolicyLocations(methods, authGiven);
  }

  private static void add(List<MethodMention> methods, int index, String service, Mapping entry, String section,
                          String key, YamlPath path, boolean required) {
    if (entry.get(section).orElse(null) instanceof Mapping m && m.get(key).orElse(null) instanceof Sequence list) {
      YamlPath listPath = path.key(section).key(key);
      for (int j = 0; j < list.items().size(); j++) {
        if (list.items().get(j) instanceof Scalar method) {
          methods.add(new MethodMention(index, service, listPath.index(j).toString(), method.text(), required,
              method.line(), method.column()));
        }
      }
    }
  }

  /** Every method name the file writes, in file order. */
  public List<MethodMention> methods() {
    return methods;
  }

  /**
   * Whether the file gives {@code settings.auth} (not empty). When it does not, the default applies
   * ({@link Settings#defaults()}: the token in {@code PROTOMATCH_REGISTRATION_TOKEN}), which the parser does not
   * check, and {@code serve} starts but refuses every registration while it does not hold.
   */
  public boolean authGiven() {
    return authGiven;
  }
}
