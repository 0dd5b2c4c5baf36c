#!/bin/sh
# The quick start's main job: installs what is missing, builds, and runs
# hb locally: hbd on 127.0.0.1 with its SQLite database in var/, in sign
# mode with a freshly generated key. Until hbc lands, hb-load plays a few
# hosts (heartbeats plus Info data); the hosts table is then printed.
# hbd keeps running; the last lines say how to stop it.
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

echo "== 3 simulated hosts send heartbeats and Info data (hb-load)"
"$bin/tools/hb-load" -s "127.0.0.1:$port" -k "$var/hb.key" -n 3 -c 3 \
	-r 3 -i 10 --info --seed 42 --epoch "$(date +%s)"
sleep 1.2 # hbd writes hosts' last-seen data once a second

echo "== hosts in var/hb.db"
sqlite3 -header -column "$var/hb.db" "
SELECT hostname, state, uuid, address, interval_s AS interval,
       CAST((strftime('%s','now') * 1000 - last_seen) / 1000 AS INT)
           || 's ago' AS last_seen
FROM hosts ORDER BY hostname;"
echo
echo "== their Info data"
sqlite3 -header -column "$var/hb.db" "
SELECT h.hostname, p.plugin, json_extract(p.data, '$.sysname') AS sysname,
       json_extract(p.data, '$.release') AS release
FROM plugin_latest p JOIN hosts h ON h.id = p.host_id ORDER BY 1;"
echo
echo "hbd keeps watching them: in 15 s they turn LATE, in 30 s DOWN"
echo "(sqlite3 var/hb.db 'select hostname, state from hosts')."
echo "Stop hbd with:  kill \$(cat var/hbd.pid)"
