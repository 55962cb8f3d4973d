#!/usr/bin/env bash
# Installs the Kafka clients the e2e specs drive that cannot live in package.json, once per
# machine, outside the repository: node-rdkafka (today's librdkafka, compiled from the sources the
# npm package bundles) in $FLOTILLA_TEST_CLIENTS_DIR (default /var/cache/flotilla-test-clients).
# A second run finds it there and only prints its version. The sources come from the npm registry
# and the compilers from Debian; the compile step runs in a network namespace of its own (no
# network at all) where unshare allows it, so nothing can be fetched from elsewhere, and node-gyp
# uses Node's own headers (nodedir=/usr) instead of downloading them.
# spec/e2e/test-clients.ts (for client-generations.spec.ts and security-clients.spec.ts) reads the
# install from the same directory.
set -euo pipefail

NODE_RDKAFKA_VERSION=3.6.1
DIR="${FLOTILLA_TEST_CLIENTS_DIR:-/var/cache/flotilla-test-clients}"
PREFIX="$DIR/node-rdkafka-$NODE_RDKAFKA_VERSION"
MODULE="$PREFIX/node_modules/node-rdkafka"
NODE_ABI="$(node -p process.versions.modules)"
STAMP="$PREFIX/.built-for-abi-$NODE_ABI"

nodedir=""
for d in "$(dirname "$(dirname "$(readlink -f "$(command -v node)")")")" /usr /usr/local; do
  if [ -f "$d/include/node/node_version.h" ]; then nodedir="$d"; break; fi
done

if [ ! -f "$STAMP" ] || [ ! -f "$MODULE/build/Release/node-librdkafka.node" ]; then
  if [ -z "$nodedir" ]; then
    echo "install-test-clients: Node's headers (include/node/node_version.h) are not on this machine; node-gyp would download them" >&2
    exit 1
  fi
  for tool in make g++ python3; do
    if ! command -v "$tool" >/dev/null 2>&1; then
      echo "install-test-clients: $tool is missing (apt-get install build-essential python3)" >&2
      exit 1
    fi
  done
  start=$(date +%s)
  rm -rf "$PREFIX"
  mkdir -p "$PREFIX"
  cd "$PREFIX"
  echo '{"name":"flotilla-test-clients","private":true}' > package.json
  # 1. The package and its two small deps (bindings, nan) from the registry, no script run yet.
  npm install --no-audit --no-fund --no-save --ignore-scripts "node-rdkafka@$NODE_RDKAFKA_VERSION"
  # 2. The compile (librdkafka's configure + make, then the binding), offline.
  build=(env "npm_config_nodedir=$nodedir" npm rebuild --foreground-scripts node-rdkafka)
  if unshare -n true 2>/dev/null; then build=(unshare -n "${build[@]}"); else echo "install-test-clients: unshare -n is not allowed here; building with the network on" >&2; fi
  "${build[@]}" > "$PREFIX/build.log" 2>&1 || { tail -n 60 "$PREFIX/build.log" >&2; exit 1; }
  touch "$STAMP"
  echo "install-test-clients: node-rdkafka $NODE_RDKAFKA_VERSION built in $(( $(date +%s) - start )) s ($PREFIX/build.log)"
fi
node -e 'const k = require(process.argv[1]); console.log(`node-rdkafka ${require(process.argv[1] + "/package.json").version}, librdkafka ${k.librdkafkaVersion} (features: ${k.features.join(",")})`)' "$MODULE"
