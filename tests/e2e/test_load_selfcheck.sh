#!/bin/sh
# Self-check of hb-load without a collector: usage errors and their exit
# status, then runs against a UDP sink that never answers, whose JSON
# reports must count every datagram as sent and none as acknowledged, and
# whose log of (epoch, seq, host) shows what --epoch, --seq-start and -j
# sent. Then, if hbd was built next to hb-load, chained runs against it:
# a run that continues another's epoch must be accepted without restarts.
# Every hb-load run is bounded by a timeout.
# Usage: test_load_selfcheck.sh PATH-TO-hb-load
set -eu

if [ $# -ne 1 ] || [ ! -x "$1" ]; then
	echo "usage: $0 PATH-TO-hb-load" >&2
	exit 2
fi
HL=$1
LIMIT=30 # seconds any one hb-load run may take

tmp=$(mktemp -d)
sink=
hbd=
cleanup() {
	if [ -n "$sink" ]; then
		kill "$sink" 2>/dev/null || true
	fi
	if [ -n "$hbd" ]; then
		kill "$hbd" 2>/dev/null || true
		wait "$hbd" 2>/dev/null || true
	fi
	rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 1' HUP INT TERM

fail() {
	echo "FAIL: $*"
	exit 1
}

# Runs hb-load, output in $tmp/out and $tmp/err, status in $rc.
run() {
	rc=0
	if command -v timeout >/dev/null 2>&1; then
		timeout "$LIMIT" "$HL" "$@" >"$tmp/out" 2>"$tmp/err" || rc=$?
	else
		"$HL" "$@" >"$tmp/out" 2>"$tmp/err" || rc=$?
	fi
	[ "$rc" -ne 124 ] || fail "hb-load $* ran over $LIMIT s"
}

# Fails unless hb-load exits 2 with one 'hb-load: ' line on stderr.
expect_usage_error() {
	run "$@"
	[ "$rc" -eq 2 ] || fail "hb-load $* exited $rc, expected 2"
	[ "$(wc -l <"$tmp/err" | tr -d ' ')" = 1 ] ||
		fail "hb-load $*: expected one line on stderr"
	grep -q '^hb-load: ' "$tmp/err" ||
		fail "hb-load $*: error not prefixed 'hb-load: '"
}

# The value of key $1 in the JSON object in $tmp/out.
json() {
	sed -n 's/.*"'"$1"'":\([^,}]*\).*/\1/p' "$tmp/out"
}

# Fails unless the JSON report has key $1 equal to $2.
expect() {
	v=$(json "$1")
	[ "$v" = "$2" ] || fail "$label: $1 is '$v', expected $2"
}

# Runs hb-load with --json (and --drain $DRAIN, default 0.2: it ends
# early once every ACK is in) and checks it is one JSON object.
run_json() {
	label="hb-load $*"
	run "$@" --json --drain "${DRAIN:-0.2}"
	[ "$rc" -eq 0 ] || fail "$label exited $rc: $(cat "$tmp/err")"
	[ "$(wc -l <"$tmp/out" | tr -d ' ')" = 1 ] &&
		grep -q '^{.*}$' "$tmp/out" || fail "$label: not one JSON line"
}

# A key file (the documented test key) and a per-host one.
printf '%s\n' '# test keys' \
	'1 000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f' \
	>"$tmp/shared.key"
printf '%s\n' \
	'7 1111111111111111111111111111111111111111111111111111111111111111 6f1c2a9e-3b4d-4c5e-8f70-123456789abc' \
	'8 2222222222222222222222222222222222222222222222222222222222222222 0b9f6f7e-2a51-4a44-9d0b-7c1e2f3a4b5c' \
	'9 3333333333333333333333333333333333333333333333333333333333333333 a3d2c1b0-9f8e-4d7c-ab6a-5f4e3d2c1b0a' \
	>"$tmp/perhost.key"

# Help and usage errors.
run -h
[ "$rc" -eq 0 ] || fail "-h exited $rc"
grep -q '^usage: hb-load' "$tmp/out" || fail "-h printed no usage"
expect_usage_error -s 192.0.2.1:7781 -c 1 -n 1
expect_usage_error -s '[2001:db8::1]:7781' -c 1 -n 1
expect_usage_error -m bogus
expect_usage_error -m sign
expect_usage_error -m encrypt
expect_usage_error -m sign -k "$tmp/no-such.key"
expect_usage_error -n 0
expect_usage_error -n 10000001
expect_usage_error -r 0
expect_usage_error -d 3601
expect_usage_error -c 1000 -n 10000000
expect_usage_error --inject nonsense
expect_usage_error -m none --inject forged
expect_usage_error -c 0 --inject replay
expect_usage_error -k "$tmp/perhost.key" -n 4
expect_usage_error --plg 1000000
expect_usage_error --no-such-option
expect_usage_error stray
expect_usage_error --seq-start 5
expect_usage_error --epoch 5 --seq-start 0
expect_usage_error --epoch 5 --seq-start 4294963200
expect_usage_error --epoch 5 --seq-start x
expect_usage_error -j 0
expect_usage_error -j 65
expect_usage_error -n 3 -j 4
expect_usage_error --source-port 0
expect_usage_error --source-port 65535 -n 2 -j 2

# A sink that never answers: python3 if there is one (it also counts what
# arrives, and logs each datagram's epoch, seq, host id and source port),
# else a port just found closed.
port=
if command -v python3 >/dev/null 2>&1; then
	python3 -c '
import socket, sys, time
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(("127.0.0.1", 0))
print(s.getsockname()[1], flush=True)
s.settimeout(0.5)
log = open(sys.argv[1] + ".log", "w")
n, end = 0, time.monotonic() + 120
while time.monotonic() < end:
    try:
        d, a = s.recvfrom(65536)
    except socket.timeout:
        continue
    n += 1
    # Header bytes 12..35: host id, epoch, seq (PROTOCOL.md section 3).
    if len(d) >= 36 and d[:2] == b"hb":
        log.write("%d %d %s %d\n" % (int.from_bytes(d[28:32], "big"),
                                     int.from_bytes(d[32:36], "big"),
                                     d[12:28].hex(), a[1]))
        log.flush()
    with open(sys.argv[1] + ".new", "w") as f:
        f.write("%d\n" % n)
    # Atomically, so that the test never reads half a number.
    __import__("os").replace(sys.argv[1] + ".new", sys.argv[1])
' "$tmp/count" >"$tmp/port" &
	sink=$!
	i=0
	while [ ! -s "$tmp/port" ] && [ $i -lt 50 ]; do
		sleep 0.1
		i=$((i + 1))
	done
	port=$(cat "$tmp/port")
	[ -n "$port" ] || fail "the python3 sink did not start"
else
	port=9 # discard: nothing listens on it in a test environment
fi

# Waits up to 5 s for the sink to have counted $1 datagrams.
expect_arrived() {
	[ -n "$sink" ] || return 0
	i=0
	while [ "$(cat "$tmp/count" 2>/dev/null || echo 0)" -lt "$1" ] &&
	      [ $i -lt 50 ]; do
		sleep 0.1
		i=$((i + 1))
	done
	[ "$(cat "$tmp/count" 2>/dev/null || echo 0)" -eq "$1" ] ||
		fail "sink counted $(cat "$tmp/count" 2>/dev/null || echo 0)" \
		     "datagrams, expected $1"
}

# One heartbeat from each of 10 hosts: all sent, none acknowledged.
run_json -s "127.0.0.1:$port" -c 1 -n 10
expect sent_htb 10
expect sent 10
expect send_errors 0
expect acked 0
expect lost 10
expect loss_pct 100.000
expect bad_acked 0
expect interrupted false
expect_arrived 10

# Signed, with Info, a fragmented Monitor PLG and BYE: 3 hosts, 2 rounds.
# Datagrams: 3 Info + 6 HTB + 6 PLGs of 3 fragments + 3 BYE = 30.
run_json -s "127.0.0.1:$port" -m sign -k "$tmp/shared.key" -n 3 -c 2 \
	--info --plg 3000 --bye
expect sent_htb 6
expect sent_plg 21
expect sent_bye 3
expect sent 30
expect acked 0
expect lost 15 # BYEs are not acknowledged
expect mode '"sign"'
expect_arrived 40

# Per-host keys: the hosts are the key file's, one per key.
run_json -s "127.0.0.1:$port" -m encrypt -k "$tmp/perhost.key" -c 1
expect hosts 3
expect sent_htb 3
expect lost 3
expect_arrived 43

# Bad traffic only: garbage, forged, stale, future, oversized per host.
run_json -s "127.0.0.1:$port" -m sign -k "$tmp/shared.key" -n 4 -c 0 \
	--inject garbage,forged,stale,future,oversized
expect sent 0
expect injected 20
expect bad_acked 0
expect_arrived 63

# What the sink logged of epoch $1: "epoch seq host port", one a datagram.
seen() {
	awk -v e="$1" '$1 == e' "$tmp/count.log"
}

# Fails unless the sink saw, in epoch $1, $2 hosts with seqs $3 and no
# (seq, host) twice.
expect_seen() {
	[ -n "$sink" ] || return 0
	v=$(seen "$1" | cut -d' ' -f3 | sort -u | wc -l | tr -d ' ')
	[ "$v" = "$2" ] || fail "epoch $1: $v hosts, expected $2"
	v=$(seen "$1" | cut -d' ' -f2 | sort -nu | tr '\n' ' ')
	[ "$v" = "$3 " ] || fail "epoch $1: seqs '$v', expected '$3'"
	[ "$(seen "$1" | sort -u | wc -l)" -eq "$(seen "$1" | wc -l)" ] ||
		fail "epoch $1: a (seq, host) sent twice"
}

# A run continued: the same hosts (--seed), the same epoch, and seqs
# from the next seq the first run reported.
run_json -s "127.0.0.1:$port" -n 10 -c 2 --seed chain --epoch 1000
expect epoch 1000
expect next_seq 3
expect threads 1
run_json -s "127.0.0.1:$port" -n 10 -c 1 --seed chain --epoch 1000 \
	--seq-start 3
expect sent_htb 10
expect epoch 1000
expect next_seq 4
expect_arrived 93
expect_seen 1000 10 "1 2 3"

# -j 3: three sockets share the hosts out; the books add up exactly.
run_json -s "127.0.0.1:$port" -n 10 -c 2 -j 3 --seed threads --epoch 2000
expect threads 3
expect sent_htb 20
expect sent 20
expect send_errors 0
expect lost 20
expect next_seq 3
expect_arrived 113
expect_seen 2000 10 "1 2"

# The text report says how to continue.
run -s "127.0.0.1:$port" -n 2 -c 1 --epoch 3000 --seq-start 7 --drain 0
[ "$rc" -eq 0 ] || fail "text report run exited $rc"
grep -q -- '--epoch 3000 --seq-start 8 continues' "$tmp/out" ||
	fail "the text report does not say how to continue"
expect_arrived 115
expect_seen 3000 2 "7"

# --source-port: thread k sends from PORT + k, in every run alike.
if [ -n "$sink" ]; then
	sp=$(python3 -c '
import socket
for p in range(41000, 61000, 97):
    ss = []
    try:
        for q in (p, p + 1):
            ss.append(socket.socket(socket.AF_INET, socket.SOCK_DGRAM))
            ss[-1].bind(("", q))
    except OSError:
        continue
    finally:
        for x in ss:
            x.close()
    print(p)
    break
')
	run_json -s "127.0.0.1:$port" -n 4 -c 1 -j 2 --epoch 4000 \
		--source-port "$sp"
	expect sent 4
	expect_arrived 119
	v=$(seen 4000 | cut -d' ' -f4 | sort -u | tr '\n' ' ')
	[ "$v" = "$sp $((sp + 1)) " ] ||
		fail "--source-port $sp -j 2: sent from ports $v"
fi

# -d bounds a run by time: 0.2 s at 100/s is about 20 heartbeats, also
# when two threads share the rate.
for j in 1 2; do
	run_json -s "127.0.0.1:$port" -n 6 -d 0.2 -r 100 -j $j
	v=$(json sent_htb)
	[ "$v" -ge 15 ] && [ "$v" -le 25 ] ||
		fail "-d 0.2 -r 100 -j $j: sent_htb $v"
done

# Against a real hbd, if it was built next to hb-load (a build tree).
HBD=$(dirname "$HL")/../hbd/hbd
if [ ! -x "$HBD" ]; then
	echo "ok (no hbd at $HBD: chained runs against hbd not checked)"
	exit 0
fi
printf '%s\n' 'listen: [127.0.0.1]' 'port: 0' "database: $tmp/hb.db" \
	"pid_file: $tmp/hbd.pid" 'security: sign' \
	"key_file: $tmp/shared.key" 'log: {level: info}' >"$tmp/hbd.yaml"
"$HBD" -f -c "$tmp/hbd.yaml" >"$tmp/hbd.log" 2>&1 &
hbd=$!
i=0
while ! grep -q 'started:' "$tmp/hbd.log" && [ $i -lt 100 ]; do
	kill -0 "$hbd" 2>/dev/null || fail "hbd exited: $(cat "$tmp/hbd.log")"
	sleep 0.1
	i=$((i + 1))
done
hport=$(sed -n 's/.*listening on [^ ]* port \([0-9]*\).*/\1/p' \
	"$tmp/hbd.log" | head -1)
[ -n "$hport" ] || fail "hbd did not start: $(cat "$tmp/hbd.log")"

# hbd's counter $1 now: SIGUSR1 makes hbd log those above 0.
counter() {
	size=$(wc -c <"$tmp/hbd.log")
	kill -USR1 "$hbd"
	i=0
	while ! tail -c +$((size + 1)) "$tmp/hbd.log" |
	      grep -q 'counters: hosts=' && [ $i -lt 50 ]; do
		sleep 0.1
		i=$((i + 1))
	done
	v=$(tail -c +$((size + 1)) "$tmp/hbd.log" | grep 'counters:' |
	    grep -o " $1=[0-9]*" | head -1 | cut -d= -f2)
	echo "${v:-0}"
}

expect_counter() {
	v=$(counter "$1")
	[ "$v" = "$2" ] || fail "$label: hbd counter $1 is $v, expected $2"
}

# 20 hosts, signed, the same ids every run; ACKs may come slowly on a
# busy machine.
hb() {
	DRAIN=2 run_json -s "127.0.0.1:$hport" -m sign -k "$tmp/shared.key" -n 20 \
		--seed hbd "$@"
}

hb -c 2 --epoch 1000
expect acked 40
expect next_seq 3
# Continued, by two threads: every HTB accepted, no host restarted.
hb -c 2 -j 2 --epoch 1000 --seq-start 3
expect acked 40
expect lost 0
expect latency_samples 40
expect next_seq 5
expect_counter rx_htb 80
expect_counter restarts 0
expect_counter drop_replay 0
# Controls: the same epoch from seq 1 again is a replay, dropped...
hb -c 1 --epoch 1000
expect acked 0
expect_counter drop_replay 20
expect_counter restarts 0
# ...and a new epoch restarts every host: what continuing avoids.
hb -c 1 --epoch 1001
expect acked 20
expect_counter restarts 20

echo ok
