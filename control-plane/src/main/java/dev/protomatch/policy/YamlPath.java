package dev.protomatch.policy;

/**
 * Where a node sits in a policy file, spelled as error messages show it: {@code settings.lease.min-ttl},
 * {@code services[2].expect}. The root is the empty path.
 */
record YamlPath(String text) {
  static final YamlPath ROOT = new YamlPath("");

  YamlPath key(String key) {
    return new YamlPath(text.isEmpty() ? key : text + "." + key);
  }

  YamlPath index(int index) {
    return new YamlPath(text + "[" + index + "]");
  }

  boolean isRoot() {
    return text.isEmpty();
  }

  /** {@code in services[0]}, or {@code at the top level} for the root: the end of "unknown key 'x' ...". */
  String within() {
    return isRoot() ? "at the top level" : "in " + text;
  }

  @Override
  public String toString() {
    return text;
  }
}
