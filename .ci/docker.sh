#!/usr/bin/env bash
# A Docker engine for the session-container tests, idempotent: installs docker.io
# and busybox-static if missing, starts dockerd if its socket does not answer, and
# builds the test image (a busybox root filesystem; no registry is reachable here)
# if it is absent. Safe to run again and again; .ci/run calls it before the tests.
set -euo pipefail

IMAGE="${VIWORKS_TEST_IMAGE:-viworks-test/busybox:1}"
DOCKERD_LOG="${DOCKERD_LOG:-/var/log/viworks-dockerd.log}"
WAIT_SECONDS="${DOCKERD_WAIT_SECONDS:-60}"
# The CLI that matches the engine (another docker CLI may sit earlier on PATH).
DOCKER=/usr/bin/docker

log() { printf '[docker.sh] %s\n' "$*"; }

if ! command -v dockerd >/dev/null 2>&1 || [ ! -x "$DOCKER" ] || [ ! -x /bin/busybox ] || ! dpkg -s busybox-static >/dev/null 2>&1; then
  log "installing docker.io and busybox-static"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq docker.io busybox-static >/dev/null
fi

if ! "$DOCKER" info >/dev/null 2>&1; then
  # A pid file left by a killed engine makes dockerd refuse to start.
  for pidfile in /var/run/docker.pid /run/docker/containerd/containerd.pid; do
    if [ -f "$pidfile" ] && ! kill -0 "$(cat "$pidfile" 2>/dev/null)" 2>/dev/null; then rm -f "$pidfile"; fi
  done
  log "starting dockerd (log: $DOCKERD_LOG)"
  # vfs: works on any backing filesystem; no iptables: this machine has no netfilter to manage.
  setsid nohup dockerd --iptables=false --storage-driver=vfs >>"$DOCKERD_LOG" 2>&1 </dev/null &
  deadline=$((SECONDS + WAIT_SECONDS))
  until "$DOCKER" info >/dev/null 2>&1; do
    if [ "$SECONDS" -ge "$deadline" ]; then
      log "dockerd did not answer within ${WAIT_SECONDS}s; last lines of its log:"
      tail -n 30 "$DOCKERD_LOG" >&2 || true
      exit 1
    fi
    sleep 0.5
  done
fi
log "engine up: $("$DOCKER" version --format 'server {{.Server.Version}}, API {{.Server.APIVersion}}')"

if ! "$DOCKER" image inspect "$IMAGE" >/dev/null 2>&1; then
  log "building $IMAGE from /bin/busybox"
  root="$(mktemp -d)"
  trap 'rm -rf "$root"' EXIT
  mkdir -p "$root/bin" "$root/tmp" "$root/www" "$root/etc" "$root/proc" "$root/sys" "$root/dev"
  chmod 1777 "$root/tmp"
  cp /bin/busybox "$root/bin/busybox"
  for applet in sh ash cat echo env head hostname httpd id kill ls mkdir ps rm seq sleep sync tail timeout true false wc yes dd printf; do
    ln -s busybox "$root/bin/$applet"
  done
  echo 'root:x:0:0:root:/:/bin/sh' >"$root/etc/passwd"
  echo 'root:x:0:' >"$root/etc/group"
  echo 'viworks session' >"$root/www/index.html"
  tar -C "$root" -c . | "$DOCKER" import \
    --change 'ENV PATH=/bin' \
    --change 'CMD ["/bin/httpd", "-f", "-p", "8080", "-h", "/www"]' \
    --change 'LABEL works.viworks.test=true' \
    - "$IMAGE" >/dev/null
fi
log "test image $IMAGE present"

# Sessions left by test or benchmark runs that died before their afterAll (their
# agent ids are "<what>-<pid>-<time>"): they would hold pool ports for ever. Only
# those older than 30 minutes, so a run in progress elsewhere is left alone.
cutoff=$(( $(date +%s) - 1800 ))
stale=0
while read -r id agent created; do
  [ -n "$id" ] || continue
  if [[ "$agent" =~ ^(lifecycle|limits|restart|collected|down|bench)-[0-9]+- ]] && [ "$(date -d "$created" +%s)" -lt "$cutoff" ]; then
    "$DOCKER" rm -f "$id" >/dev/null 2>&1 && stale=$((stale + 1))
  fi
done < <("$DOCKER" ps -aq --filter label=works.viworks.managed=true \
          | xargs -r "$DOCKER" inspect -f '{{.Id}} {{index .Config.Labels "works.viworks.agent-id"}} {{.Created}}')
[ "$stale" -eq 0 ] || log "removed $stale stale test session container(s)"
