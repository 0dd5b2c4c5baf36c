#!/bin/sh
# The quick start's main job: installs what is missing, builds, and runs
# hb locally: hbd on 127.0.0.1 with its SQLite database in var/, in sign
# mode with a freshly generated key, and hbc with the built-in plugins
# reporting this host to it. Once the host is UP, hb-query shows what hbd
# stored. Both keep running; the last line says how to stop them.
set -eu
cd "$(dirname "$0")/.."
./scripts/build.sh
bin=build
var=$(pwd)/var
port=${HB_PORT:-7781}
mkdir -p "$var"

if [ -f "$var/hbd.pid" ] && kill -0 "$(cat "$var/hbd.pid")" 2>/dev/null; then
	echo "stopping the hbd started earlier (pid $(cat "$var/hbd.pid"))"
	kill "$(cat "$var/hbd.pid")"
	while kill -0 "$(cat "$var/hbd.pid")" 2>/dev/null; do sleep 0.1; done
fi
[ -f "$var/hb.key" ] || "$bin/tools/hb-keygen" -i 1 -o "$var/hb.key"
cat >"$var/hbd.yaml" <<CONF
# Written by scripts/run.sh; see config/hbd.yaml for every key.
listen: [127.0.0.1]
port: $port
database: $var/hb.db
security: sign
key_file: $var/hb.key
CONF
"$bin/hbd/hbd" -n -c "$var/hbd.yaml"
"$bin/hbd/hbd" -f -c "$var/hbd.yaml" </dev/null >>"$var/hbd.log" 2>&1 &
echo $! >"$var/hbd.pid"
tries=0
until grep -q "started:" "$var/hbd.log" 2>/dev/null; do
	tries=$((tries + 1))
	if [ $tries -gt 100 ] || ! kill -0 "$(cat "$var/hbd.pid")" 2>/dev/null; then
		echo "hbd did not start; its log:" >&2
		tail -20 "$var/hbd.log" >&2
		exit 1
	fi
	sleep 0.1
done
echo "== hbd is running (pid $(cat "$var/hbd.pid")), log in var/hbd.log"

cat >"$var/hbc.yaml" <<CONF
# Written by scripts/run.sh; see config/hbc.yaml for every key.
servers: ["127.0.0.1:$port"]
interval: 5s
state_dir: $var/client
owner: $(id -un)
labels: {env: quickstart}
security: sign
key_file: $var/hb.key
plugin_dir: $(pwd)/$bin/plugins
plugins:
  load: {interval: 5s}
CONF
if [ -f "$var/hbc.pid" ] && kill -0 "$(cat "$var/hbc.pid")" 2>/dev/null; then
	kill "$(cat "$var/hbc.pid")"
fi
"$bin/hbc/hbc" -n -c "$var/hbc.yaml"
"$bin/hbc/hbc" -f -c "$var/hbc.yaml" </dev/null >>"$var/hbc.log" 2>&1 &
echo $! >"$var/hbc.pid"
echo "== hbc is running (pid $(cat "$var/hbc.pid")), log in var/hbc.log"
printf "== waiting for this host to be UP"
tries=0
uuid=$(cat "$var/client/host-id" 2>/dev/null || true)
until [ -n "$uuid" ] && [ "$(sqlite3 "$var/hb.db" "SELECT count(*) FROM
	hosts h JOIN plugin_latest p ON p.host_id = h.id WHERE h.uuid =
	'$uuid' AND h.state = 'UP' AND p.plugin = 'os'" 2>/dev/null)" = 1 ]; do
	uuid=$(cat "$var/client/host-id" 2>/dev/null || true)
	tries=$((tries + 1))
	if [ $tries -gt 150 ] || ! kill -0 "$(cat "$var/hbc.pid")" 2>/dev/null; then
		echo; echo "the host did not come UP; hbc's log:" >&2
		tail -20 "$var/hbc.log" >&2
		exit 1
	fi
	printf .
	sleep 0.1
done
echo
sleep 1.2 # hbd writes hosts' last-seen data once a second

echo "== hb-query hosts"
"$bin/tools/hb-query" --db "$var/hb.db" hosts
echo
echo "== hb-query host $uuid"
"$bin/tools/hb-query" --db "$var/hb.db" host "$uuid"
echo
echo "hbd and hbc keep running: build/tools/hb-query --db var/hb.db hosts"
echo "shows the host (export HB_DB=var/hb.db to leave out --db); stop hbc"
echo "and it turns STOPPED (it says BYE)."
echo "Stop both with:  kill \$(cat var/hbc.pid) \$(cat var/hbd.pid)"
