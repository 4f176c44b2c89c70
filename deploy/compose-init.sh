#!/bin/sh
# Creates the credentials docker-compose.yml mounts: the agent's key file
# (hashes only) and the collector's agents file (holding the key). Run once:
#   sh deploy/compose-init.sh && docker compose up -d
set -eu
cd "$(dirname "$0")/.."
out=deploy/compose
mkdir -p "$out"
chmod 700 "$out"
[ -f "$out/keys.json" ] && { echo "$out/keys.json exists; remove it to start over" >&2; exit 1; }
docker compose build agent
key=$(docker compose run --rm --no-deps --user root -v "$PWD/$out:/out" agent \
  node packages/agent/dist/keygen.js --id compose-collector --role viewer --file /out/keys.json)
printf '[{"id":"local","url":"http://host.docker.internal:8210","token":"%s"}]\n' "$key" > "$out/agents.json"
# The collector image runs as the node user (uid 1000).
chown 1000:1000 "$out/agents.json"
chmod 600 "$out/keys.json" "$out/agents.json"
echo "created $out/keys.json and $out/agents.json"
