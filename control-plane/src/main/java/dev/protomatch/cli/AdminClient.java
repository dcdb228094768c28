package dev.protomatch.cli;

import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.protomatch.admin.AdminJson;
import dev.protomatch.admin.AdminViews;
import java.io.IOException;
import java.net.ConnectException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;

/**
 * Reads a running protomatch's admin API ({@code docs/admin-api.md}) into {@link AdminViews} records, for the
 * commands that show or check the live fleet ({@code status}, {@code validate --against}). Every way this fails
 * (an address that is not a URL, nothing listening, an answer that is not protomatch's JSON) is one
 * {@link UserInputException} line naming the address and the option that gave it.
 */
final class AdminClient {
  private static final ObjectMapper JSON = AdminJson.mapper().copy()
      .disable(DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES);

  private final String address;
  private final String option;

  /**
   * @param address protomatch's admin address as the operator gave it: a URL, or HOST:PORT (http assumed)
   * @param option the command-line option that gave it ({@code --admin}), named in the error lines
   */
  AdminClient(String address, String option) {
    this.address = address;
    this.option = option;
  }

  /** GET {@code path} as {@code type}; unknown fields (from a newer protomatch) are ignored. */
  <T> T fetch(String path, Class<T> type) throws InterruptedException {
    return fetch(path, type, false).orElseThrow();
  }

  /**
   * As {@link #fetch(String, Class)}, but empty when protomatch answers 503 (a view it has nothing for yet: no
   * routing decision while the control plane starts).
   */
  <T> java.util.Optional<T> fetchIfReady(String path, Class<T> type) throws InterruptedException {
    return fetch(path, type, true);
  }

  private <T> java.util.Optional<T> fetch(String path, Class<T> type, boolean emptyIfNotReady)
      throws InterruptedException {
    URI uri = uri(path);
    HttpResponse<String> response;
    try {
      response = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build()
          .send(HttpRequest.newBuilder(uri).timeout(Duration.ofSeconds(10)).build(), HttpResponse.BodyHandlers.ofString());
    } catch (ConnectException e) {
      throw new UserInputException("cannot reach protomatch's admin port at " + address
          + " (connection refused; is protomatch serve running? use " + option + " URL)");
    } catch (IOException e) {
      throw new UserInputException("cannot reach protomatch's admin port at " + address + ": " + e.getMessage());
    }
    if (emptyIfNotReady && response.statusCode() == 503) {
      return java.util.Optional.empty();
    }
    if (response.statusCode() != 200) {
      throw new UserInputException(uri + " answered " + response.statusCode() + ": " + errorOf(response.body()));
    }
    try {
      return java.util.Optional.of(JSON.readValue(response.body(), type));
    } catch (com.fasterxml.jackson.core.JsonProcessingException e) {
      throw new UserInputException(uri + " did not answer with protomatch's JSON (is " + address
          + " protomatch's admin port? use " + option + " URL)");
    }
  }

  /** The admin address given as a URL or as HOST:PORT (http assumed), with {@code path} appended. */
  private URI uri(String path) {
    String base = address.replaceAll("/+$", "");
    if (!base.contains("://")) {
      base = "http://" + base;
    }
    try {
      URI uri = URI.create(base + path);
      if (uri.getHost() == null || !(uri.getScheme().equals("http") || uri.getScheme().equals("https"))) {
        throw new IllegalArgumentException("no host");
      }
      return uri;
    } catch (IllegalArgumentException e) {
      throw new UserInputException(option + ": expected http://HOST:PORT or HOST:PORT, got '" + address + "'");
    }
  }

  /** The admin API's JSON error message, else the body's first line (another server's page, say). */
  private String errorOf(String body) {
    try {
      AdminViews.Error error = JSON.readValue(body, AdminViews.Error.class);
      if (error.error() != null) {
        return error.error();
      }
    } catch (IOException e) {
      // not protomatch's JSON: show the start of whatever it is
    }
    String first = body.strip().lines().findFirst().orElse("(empty body)");
    return (first.length() > 100 ? first.substring(0, 100) + "..." : first)
        + " (not protomatch's admin port? use " + option + " URL)";
  }
}
