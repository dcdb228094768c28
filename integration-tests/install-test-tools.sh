#!/usr/bin/env bash
# Installs the real peers some integration tests drive, from Debian's packages:
#   chromium                   StatusPageChromiumTest: headless DOM checks of the admin status page
#   python3-prometheus-client  MetricsTest: the Prometheus project's own text-format parser reads /metrics
#   etcd-server                control-plane's EtcdEndpointRegistryTest (testing.EtcdProcess runs /usr/bin/etcd)
#   openssl                    the same test's TLS etcd (testing.EtcdProcess makes a CA and certificate)
# Idempotent: installs only what is missing. Uses sudo only when not root.
set -euo pipefail
missing=()
[ -x /usr/bin/chromium ] || missing+=(chromium)
/usr/bin/python3 -c 'import prometheus_client.parser' 2>/dev/null || missing+=(python3-prometheus-client)
[ -x /usr/bin/etcd ] || missing+=(etcd-server)
command -v openssl >/dev/null 2>&1 || missing+=(openssl)
if [ ${#missing[@]} -eq 0 ]; then
  exit 0
fi
if [ "$(id -u)" -eq 0 ]; then
  sudo=""
elif command -v sudo >/dev/null 2>&1; then
  sudo="sudo"
else
  echo "install-test-tools.sh: missing ${missing[*]}, and installing needs root (no sudo found)" >&2
  exit 1
fi
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update
$sudo apt-get install -y --no-install-recommends "${missing[@]}"
[ -x /usr/bin/chromium ] || { echo "install-test-tools.sh: /usr/bin/chromium still missing" >&2; exit 1; }
[ -x /usr/bin/etcd ] || { echo "install-test-tools.sh: /usr/bin/etcd still missing" >&2; exit 1; }
/usr/bin/python3 -c 'import prometheus_client.parser' \
  || { echo "install-test-tools.sh: prometheus_client still not importable by /usr/bin/python3" >&2; exit 1; }
