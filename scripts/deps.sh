#!/usr/bin/env bash
# Installs the Debian packages the build, the tests, the demo and the
# benchmarks need (only those missing). Needs root (or sudo) when something
# is missing.
set -euo pipefail

packages=(
  g++ make cmake pkg-config git
  postgresql-15 postgresql-client-15 postgresql-server-dev-15 libpq-dev
  libssl-dev libcurl4-openssl-dev nlohmann-json3-dev libcli11-dev libcpp-httplib-dev
  libgtest-dev libgmock-dev googletest libbenchmark-dev
  curl jq openssl time procps unzip
)

missing=()
for p in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done

if [ ${#missing[@]} -eq 0 ]; then
  exit 0
fi

echo "installing: ${missing[*]}" >&2
sudo=""
if [ "$(id -u)" != 0 ]; then sudo="sudo"; fi
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -q
$sudo apt-get install -y -q --no-install-recommends "${missing[@]}"
