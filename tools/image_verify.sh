#!/usr/bin/env bash
# `deno task image:verify`: proves the Dockerfile on a machine that reaches no container registry.
# As root, with Debian's buildah (vfs storage, chroot isolation):
#   1. makes a local stand-in for the base image `denoland/deno:<our Deno version>` — this machine's
#      Deno binary and the C libraries it links, a `deno` user (uid 1993, as the official image
#      has), DENO_DIR=/deno-dir — tagged with the official name, unless one is already there;
#   2. builds our image from the unmodified Dockerfile;
#   3. runs it (its entrypoint, as its user, /data on a temporary directory, ports 18080 and
#      14433/udp) and checks /healthz, /readyz and a WebSocket join; then SIGTERM must stop it.
# Prints PASS or FAIL with what failed; leaves no container behind. About 3-6 minutes.
# `--fresh-base` makes the stand-in again.
set -euo pipefail
cd "$(dirname "$0")/.."
DENO_VERSION=$(deno --version | head -n 1 | awk '{print $2}')
BASE="docker.io/denoland/deno:${DENO_VERSION}"
IMAGE="localhost/videocall-ts:verify"
BUILDAH=(buildah --storage-driver vfs)
PORT=18080
fail() { echo "FAIL: $*"; exit 1; }

[ "$(id -u)" = 0 ] || fail "run as root (buildah with vfs storage and chroot isolation needs it)"
for tool in buildah jq curl; do
  command -v "$tool" >/dev/null || fail "$tool is not installed (apt-get install buildah jq curl)"
done

step() { printf '\n== %s\n' "$*"; }
started=$(date +%s)

if [ "${1:-}" = "--fresh-base" ]; then "${BUILDAH[@]}" rmi "$BASE" >/dev/null 2>&1 || true; fi
step "base image ${BASE}"
if "${BUILDAH[@]}" inspect --type image "$BASE" >/dev/null 2>&1; then
  echo "present"
else
  echo "no registry here: making a stand-in from this machine's deno $DENO_VERSION"
  ctr=$("${BUILDAH[@]}" from scratch)
  root=$("${BUILDAH[@]}" mount "$ctr")
  deno_bin=$(readlink -f "$(command -v deno)")
  mkdir -p "$root/usr/bin" "$root/etc" "$root/deno-dir" "$root/tmp" "$root/home/deno"
  cp "$deno_bin" "$root/usr/bin/deno"
  # The C libraries Deno links, at the paths the loader looks for them.
  for lib in $(ldd "$deno_bin" | awk '/=>/ { print $3 } /ld-linux/ { print $1 }'); do
    mkdir -p "$root$(dirname "$lib")"
    cp -L "$lib" "$root$lib"
  done
  cp -L /lib64/ld-linux-x86-64.so.2 "$root/lib64/" 2>/dev/null || true
  # DNS for `deno install` inside builds: resolver libraries and configuration.
  for lib in /lib/x86_64-linux-gnu/libnss_dns.so.2 /lib/x86_64-linux-gnu/libnss_files.so.2 \
    /lib/x86_64-linux-gnu/libresolv.so.2; do
    [ -e "$lib" ] && mkdir -p "$root$(dirname "$lib")" && cp -L "$lib" "$root$lib"
  done
  printf 'hosts: files dns\n' >"$root/etc/nsswitch.conf"
  printf 'root:x:0:0:root:/root:/bin/sh\ndeno:x:1993:1993:deno:/home/deno:/bin/sh\n' >"$root/etc/passwd"
  printf 'root:x:0:\ndeno:x:1993:\n' >"$root/etc/group"
  # RUN steps need a shell and the few tools the Dockerfile uses (mkdir, chown).
  for tool in /bin/sh /bin/mkdir /bin/chown; do
    real=$(readlink -f "$tool")
    mkdir -p "$root$(dirname "$tool")"
    cp -L "$real" "$root$tool"
    for lib in $(ldd "$real" 2>/dev/null | awk '/=>/ { print $3 }'); do
      mkdir -p "$root$(dirname "$lib")"
      cp -L "$lib" "$root$lib"
    done
  done
  # This machine reaches npm through a TLS-inspecting proxy that its own CA bundle trusts; the
  # stand-in carries that bundle, as every program here does (the official image, on the open
  # internet, needs none: Deno has its own roots).
  if [ -f /etc/ssl/certs/ca-certificates.crt ]; then
    mkdir -p "$root/etc/ssl/certs"
    cp -L /etc/ssl/certs/ca-certificates.crt "$root/etc/ssl/certs/"
  fi
  chmod 1777 "$root/tmp"
  chown 1993:1993 "$root/deno-dir" "$root/home/deno"
  "${BUILDAH[@]}" umount "$ctr" >/dev/null
  "${BUILDAH[@]}" config --env DENO_DIR=/deno-dir --env PATH=/usr/bin:/bin \
    --env SSL_CERT_DIR=/etc/ssl/certs --env NODE_EXTRA_CA_CERTS=/etc/ssl/certs/ca-certificates.crt \
    --user deno --entrypoint '["deno"]' --cmd '["--version"]' "$ctr"
  "${BUILDAH[@]}" commit --quiet "$ctr" "$BASE" >/dev/null
  "${BUILDAH[@]}" rm "$ctr" >/dev/null
  echo "made ${BASE}"
fi

step "build ${IMAGE} from the Dockerfile"
"${BUILDAH[@]}" bud --isolation chroot --format docker -t "$IMAGE" -f Dockerfile . >/tmp/image-verify-build.log 2>&1 ||
  { tail -n 30 /tmp/image-verify-build.log; fail "the image did not build (log: /tmp/image-verify-build.log)"; }
echo "built in $(($(date +%s) - started)) s"

step "run it"
inspected=$("${BUILDAH[@]}" inspect --type image "$IMAGE")
config=$(jq '.Docker.config' <<<"$inspected")
jq -e '.Healthcheck.Test | join(" ") | test("/healthz")' <<<"$config" >/dev/null ||
  fail "the image has no HEALTHCHECK on /healthz"
user=$(jq -r '.User' <<<"$config")
entrypoint=$(jq -r '.Entrypoint | @sh' <<<"$config")
[ "$user" = deno ] || fail "the image runs as \"$user\", not the non-root user deno"
jq -e '.ExposedPorts["8080/tcp"] and .ExposedPorts["4433/udp"]' <<<"$config" >/dev/null ||
  fail "the image does not expose 8080/tcp and 4433/udp"
data=$(mktemp -d)
chown 1993:1993 "$data"
ctr=$("${BUILDAH[@]}" from "$IMAGE")
cleanup() {
  [ -n "${pid:-}" ] && kill "$pid" 2>/dev/null || true
  "${BUILDAH[@]}" rm "$ctr" >/dev/null 2>&1 || true
  rm -rf "$data"
}
trap cleanup EXIT
eval "set -- $entrypoint"
"${BUILDAH[@]}" run --isolation chroot --user deno -v "$data:/data" \
  --env PORT=$PORT --env WT_PORT=14433 --env HOST=127.0.0.1 "$ctr" -- "$@" >/tmp/image-verify-run.log 2>&1 &
pid=$!
for _ in $(seq 150); do
  curl -fsS "http://127.0.0.1:$PORT/healthz" >/dev/null 2>&1 && break
  sleep 0.2
done
curl -fsS "http://127.0.0.1:$PORT/healthz" >/dev/null || { tail /tmp/image-verify-run.log; fail "/healthz did not answer"; }
echo "/healthz ok"
curl -fsS "http://127.0.0.1:$PORT/readyz" >/dev/null || fail "/readyz is not ready"
echo "/readyz ok"
# The bundle the image build wrote (deno task build) is what it serves: no bundling at run time.
grep -q '"event":"fresh_prebuilt"' /tmp/image-verify-run.log ||
  fail "the server did not serve the bundle built into the image"
curl -fsS "http://127.0.0.1:$PORT/meeting/ada/verify" | grep -q '/_fresh/js/' ||
  fail "the meeting page does not load the built bundle"
echo "serves the bundle built into the image"
deno run --allow-net --allow-env --allow-read tools/ws_join.ts "ws://127.0.0.1:$PORT" ||
  fail "a WebSocket join failed"
grep -q '"event":"session_opened"' /tmp/image-verify-run.log || fail "the server logged no session"
# The embedded store opens its files in DATA_DIR=/data on first use (about 5 s the first time).
# (Chroot isolation gives the run its own mount namespace, so the volume is checked from inside:
# the server refuses to start on a DATA_DIR it cannot write, and logs the store it opened.)
for _ in $(seq 150); do
  grep -q '"event":"store_ready","store":"pglite"' /tmp/image-verify-run.log && break
  sleep 0.2
done
grep -q '"event":"store_ready","store":"pglite"' /tmp/image-verify-run.log ||
  fail "the embedded store did not open on the /data volume"
echo "the embedded store opened on the /data volume, as the non-root user"

step "SIGTERM"
server_pid=$(pgrep -n -f "allow-write=/data main.ts" || true)
[ -n "$server_pid" ] || fail "the server process was not found"
[ -n "$server_pid" ] && kill -TERM "$server_pid"
for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.2; done
kill -0 "$pid" 2>/dev/null && fail "the server did not stop on SIGTERM within 10 s"
grep -q '"event":"stopped"' /tmp/image-verify-run.log || fail "the server did not log its stop"
pid=
echo "stopped cleanly"
printf '\nPASS: image %s built from the Dockerfile and served a WebSocket join (%s s)\n' \
  "$IMAGE" "$(($(date +%s) - started))"
