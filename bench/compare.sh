#!/bin/sh
# compare.sh: opsbot against the tools one would otherwise use, whole
# process (start-up included), warm cache, paired runs (A B A B …, five
# pairs), median of the per-pair ratios (opsbot ÷ peer; below 1 is faster).
#
#   bench/compare.sh [MiB per log, default 1024] [work folder, default a temp one]
#
# Needs: go, GNU time (/usr/bin/time), GNU dd, grep, gawk, sort; rg is used when
# installed. It checks free disk before generating the inputs (three logs of
# the given size, deterministic: same seed, same bytes) and removes them after.
set -eu
SIZE=${1:-1024}
WORK=${2:-$(mktemp -d)}
PAIRS=${PAIRS:-5}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
mkdir -p "$WORK/logs" "$WORK/mon/logs" "$WORK/data"
trap 'rm -rf "$WORK/logs" "$WORK/mon" "$WORK/data"' EXIT

need=$((SIZE * 5 + 512)) # MiB: app, access, security, and the monitor's copies
free=$(df -Pm "$WORK" | awk 'NR==2 {print $4}')
if [ "$free" -lt "$need" ]; then
	echo "compare.sh: $free MiB free in $WORK, $need MiB needed" >&2
	exit 1
fi
cd "$ROOT"
go build -o "$WORK/opsbot" . && go build -o "$WORK/logbench" ./cmd/logbench
END=$(date +%s)
"$WORK/logbench" gen -dir "$WORK/logs" -size "$SIZE" -end "$END"
cat >"$WORK/cfg.yaml" <<YAML
store: {driver: sqlite, dsn: $WORK/data/opsbot.db}
targets:
  - name: api-1
    workdir: $WORK/logs
    health_url: http://127.0.0.1:1/health
    logs:
      app:    {path: $WORK/logs/app.log,    format: app_iso,     timezone: UTC}
      access: {path: $WORK/logs/access.log, format: nginx_timed, timezone: UTC}
YAML
cat "$WORK/logs/"*.log >/dev/null # warm cache

# pair NAME 'opsbot command' 'peer shell command': five pairs, median ratio.
pair() {
	name=$1 ours=$2 peer=$3
	: >"$WORK/ratios"
	i=0
	while [ $i -lt "$PAIRS" ]; do
		printf '%s\n' "$ours" >"$WORK/cmd"
		/usr/bin/time -f '%e %M' -o "$WORK/t" "$WORK/opsbot" shell --config "$WORK/cfg.yaml" <"$WORK/cmd" >/dev/null 2>&1
		a=$(tail -1 "$WORK/t")
		/usr/bin/time -f '%e %M' -o "$WORK/t" sh -c "$peer" >/dev/null 2>&1 || true
		b=$(tail -1 "$WORK/t")
		echo "$a $b" >>"$WORK/ratios"
		i=$((i + 1))
	done
	awk -v n="$name" '{r[NR] = ($3 > 0 ? $1 / $3 : 0); a[NR] = $1; b[NR] = $3; if ($2 > m) m = $2}
		END {
			asort(r); asort(a); asort(b); k = int((NR + 1) / 2)
			printf "%-34s ours %6.3f s  peer %6.3f s  ratio %5.2f  ours peak %5.1f MiB\n", n, a[k], b[k], r[k], m / 1024
		}' "$WORK/ratios"
}

L=$WORK/logs
RG=$(command -v rg || true)
peer() { # the faster of rg (when installed) and grep is measured separately
	[ -n "$RG" ] && pair "$1 vs rg" "$2" "$RG $3" || true
	pair "$1 vs grep" "$2" "LC_ALL=C grep $4"
}
peer "literal"           'logs search --file app --count "LLM API Error"'            "-c -F 'LLM API Error' $L/app.log"            "-c -F 'LLM API Error' $L/app.log"
peer "long literal"      'logs search --file access --count "POST /api/chat/stream"' "-c -F 'POST /api/chat/stream' $L/access.log" "-c -F 'POST /api/chat/stream' $L/access.log"
peer "alternation"       'logs search --file app --count --regex "ERROR|LLM API Error"' "-c 'ERROR|LLM API Error' $L/app.log"    "-c -E 'ERROR|LLM API Error' $L/app.log"
peer "character class"   'logs search --file access --count --regex "\" 50[0-9] "'   "-c '\" 50[0-9] ' $L/access.log"             "-c -E '\" 50[0-9] ' $L/access.log"
peer "ignore-case ASCII" 'logs search --file app --count --ignore-case "llm api error"' "-c -i 'llm api error' $L/app.log"        "-c -i 'llm api error' $L/app.log"
peer "ignore-case non-ASCII" 'logs search --file app --count --ignore-case "échec"'  "-c -i 'échec' $L/app.log"                   "-c -i 'échec' $L/app.log"
peer "--level ERROR"     'logs search --file app --count --level ERROR "LLM"'       "-c ' ERROR .*LLM' $L/app.log"                "-c ' ERROR .*LLM' $L/app.log"
pair "--since 1h vs grep (whole file)"  'logs search --file app --count --since 1h ERROR' "LC_ALL=C grep -c -F ERROR $L/app.log"

# Cold cache: app.log is dropped from the page cache (this file only, with
# GNU dd's nocache flag) before each run of either side.
cold() { dd if="$L/app.log" iflag=nocache count=0 status=none; }
printf '%s\n' 'logs search --file app --count "LLM API Error"' >"$WORK/cold.cmd"
: >"$WORK/ratios"
i=0
while [ $i -lt "$PAIRS" ]; do
	cold
	/usr/bin/time -f '%e %M' -o "$WORK/t" "$WORK/opsbot" shell --config "$WORK/cfg.yaml" <"$WORK/cold.cmd" >/dev/null 2>&1
	a=$(tail -1 "$WORK/t")
	cold
	/usr/bin/time -f '%e %M' -o "$WORK/t" sh -c "LC_ALL=C grep -c -F 'LLM API Error' $L/app.log" >/dev/null 2>&1 || true
	b=$(tail -1 "$WORK/t")
	echo "$a $b" >>"$WORK/ratios"
	i=$((i + 1))
done
awk '{r[NR] = $1 / $3; a[NR] = $1; b[NR] = $3; if ($2 > m) m = $2}
	END { asort(r); asort(a); asort(b); k = int((NR + 1) / 2)
		printf "%-34s ours %6.3f s  peer %6.3f s  ratio %5.2f  ours peak %5.1f MiB\n", "literal, cold cache vs grep", a[k], b[k], r[k], m / 1024 }' "$WORK/ratios"
cat "$L/app.log" >/dev/null # warm again

# The monitor pass: requests per IP over the access log and failed logins
# per IP over the security log, appended after the bot began watching.
cat >"$WORK/mon.yaml" <<YAML
store: {driver: sqlite, dsn: $WORK/mon/opsbot.db}
targets:
  - name: api-1
    workdir: $WORK/mon/logs
    health_url: http://127.0.0.1:1/health
    logs:
      access:   {path: $WORK/mon/logs/access.log,   format: nginx_timed, timezone: UTC}
      security: {path: $WORK/mon/logs/security.log, format: app_iso,     timezone: UTC}
YAML
: >"$WORK/mon/logs/access.log"; : >"$WORK/mon/logs/security.log"
echo help | "$WORK/opsbot" shell --config "$WORK/mon.yaml" >/dev/null 2>&1 # offsets recorded
cp "$WORK/mon/opsbot.db" "$WORK/mon/snap.db"
mv "$L/access.log" "$WORK/mon/logs/access.log"; mv "$L/security.log" "$WORK/mon/logs/security.log"
cat >"$WORK/mon/run.sh" <<SH
cp "$WORK/mon/snap.db" "$WORK/mon/opsbot.db"; rm -f "$WORK/mon/opsbot.db-wal" "$WORK/mon/opsbot.db-shm"
printf 'schedule run rules\n' | "$WORK/opsbot" shell --config "$WORK/mon.yaml"
SH
cat >"$WORK/mon/awk.sh" <<SH
awk '{print \$1}' "$WORK/mon/logs/access.log" | sort | uniq -c | sort -rn | head -20
grep 'login failed' "$WORK/mon/logs/security.log" | awk '{print \$NF}' | sort | uniq -c | sort -rn | head -20
SH
: >"$WORK/ratios"
i=0
while [ $i -lt "$PAIRS" ]; do
	/usr/bin/time -f '%e %M' -o "$WORK/t" sh "$WORK/mon/run.sh" >/dev/null 2>&1
	a=$(tail -1 "$WORK/t")
	/usr/bin/time -f '%e %M' -o "$WORK/t" sh "$WORK/mon/awk.sh" >/dev/null 2>&1
	b=$(tail -1 "$WORK/t")
	echo "$a $b" >>"$WORK/ratios"
	i=$((i + 1))
done
awk '{r[NR] = $1 / $3; a[NR] = $1; b[NR] = $3; if ($2 > m) m = $2}
	END { asort(r); asort(a); asort(b); k = int((NR + 1) / 2)
		printf "%-34s ours %6.3f s  peer %6.3f s  ratio %5.2f  ours peak %5.1f MiB\n", "monitor pass vs awk|sort|uniq -c", a[k], b[k], r[k], m / 1024 }' "$WORK/ratios"
