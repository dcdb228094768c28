package dev.protomatch.decision;

import dev.protomatch.registry.EndpointAddress;
import dev.protomatch.registry.EndpointState;
import dev.protomatch.registry.RegistryState;
import java.time.Instant;
import java.util.Iterator;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;

/**
 * Which services a move from one registry state to another can decide differently: the services claimed
 * (before or after) by an endpoint that came, went, changed, or whose lease ran out between the two
 * moments. A renewal that only moves the expiry of a lease live at both moments touches nothing, so
 * keep-alives recompute no service.
 *
 * <p>Pure: one pass over both states' endpoints, in address order (linear in the number of endpoints).
 * The routing decision of a service depends only on its claimants, their fields apart from lease expiry, and
 * whether each lease has run out ({@link RoutingDecider}), which is what is compared.
 */
public final class RegistryChanges {
  private RegistryChanges() {}

  /**
   * The services whose decision may differ between {@code before} (decided at {@code beforeAt}) and
   * {@code after} at {@code now}.
   */
  public static Set<String> touchedServices(RegistryState before, Instant beforeAt, RegistryState after,
                                            Instant now) {
    Set<String> touched = new TreeSet<>();
    Iterator<Map.Entry<EndpointAddress, EndpointState>> a = before.endpoints().entrySet().iterator();
    Iterator<Map.Entry<EndpointAddress, EndpointState>> b = after.endpoints().entrySet().iterator();
    Map.Entry<EndpointAddress, EndpointState> x = next(a);
    Map.Entry<EndpointAddress, EndpointState> y = next(b);
    while (x != null || y != null) {
      int order = x == null ? 1 : y == null ? -1 : x.getKey().compareTo(y.getKey());
      if (order < 0) { // gone
        touched.addAll(x.getValue().advertised().keySet());
        x = next(a);
      } else if (order > 0) { // new
        touched.addAll(y.getValue().advertised().keySet());
        y = next(b);
      } else {
        EndpointState old = x.getValue();
        EndpointState current = y.getValue();
        if (old != current && !sameApartFromLeaseExpiry(old, current)
            || old.leaseExpired(beforeAt) != current.leaseExpired(now)) {
          touched.addAll(old.advertised().keySet());
          touched.addAll(current.advertised().keySet());
        }
        x = next(a);
        y = next(b);
      }
    }
    return touched;
  }

  /** Equal in everything the decision reads, the lease's expiry aside (whether it ran out is compared apart). */
  static boolean sameApartFromLeaseExpiry(EndpointState a, EndpointState b) {
    return a.generation() == b.generation()
        && a.source() == b.source()
        && a.weight() == b.weight()
        && a.address().equals(b.address())
        && a.locality().equals(b.locality())
        && a.client().equals(b.client())
        && a.registeredAt().equals(b.registeredAt())
        && a.lease().isPresent() == b.lease().isPresent()
        && a.lease().map(l -> l.id()).equals(b.lease().map(l -> l.id()))
        && a.probe().equals(b.probe())
        && a.labels().equals(b.labels())
        && a.advertised().equals(b.advertised());
  }

  private static <T> T next(Iterator<T> iterator) {
    return iterator.hasNext() ? iterator.next() : null;
  }
}
