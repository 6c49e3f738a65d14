#!/usr/bin/env bash
# Runs every native Go fuzz target of the module, one at a time, for the
# given number of seconds each, and prints one summary line per target.
#
#   scripts/fuzz.sh 120            # every target, two minutes each
#   scripts/fuzz.sh 30 FuzzSplit   # the targets whose name matches
#
# A failing input is written by go test under the package's
# testdata/fuzz/<Target>/ and becomes a seed that `go test ./...` runs;
# the script goes on with the next target and exits 1 at the end.
set -u
cd "$(dirname "$0")/.."

secs=${1:?usage: scripts/fuzz.sh <seconds> [target-regexp]}
filter=${2:-.}
case $secs in
'' | *[!0-9]*) echo "seconds must be a whole number, got '$secs'" >&2; exit 2 ;;
esac

# package-dir target, for every func FuzzXxx(f *testing.F) in a test file.
targets=$(grep -rE --include='*_test.go' -o '^func Fuzz[A-Za-z0-9_]+\(f \*testing\.F\)' . |
	sed -E 's|^\./(.*)/[^/]+_test\.go:func (Fuzz[A-Za-z0-9_]+).*|\1 \2|' | sort | grep -E " .*$filter" || true)
if [ -z "$targets" ]; then
	echo "no fuzz target matches '$filter'" >&2
	exit 2
fi

log=$(mktemp)
trap 'rm -f "$log"' EXIT
failed=0
printf '%-14s %-28s %8s %12s %8s  %s\n' package target seconds execs new result
while read -r dir target; do
	go test -run '^$' -fuzz "^${target}\$" -fuzztime "${secs}s" -parallel 1 "./$dir" >"$log" 2>&1
	rc=$?
	# go test prints "fuzz: elapsed: 2m0s, execs: 1234 (10/sec), new interesting: 5 (total: 20)".
	last=$(grep -E '^fuzz: elapsed: .*execs: ' "$log" | tail -n 1)
	elapsed=$(sed -E 's/^fuzz: elapsed: ([^,]+),.*/\1/' <<<"$last")
	execs=$(sed -E 's/.*execs: ([0-9]+).*/\1/' <<<"$last")
	new=$(sed -nE 's/.*new interesting: ([0-9]+).*/\1/p' <<<"$last")
	result=ok
	if [ $rc -ne 0 ]; then
		result="FAIL (input saved under $dir/testdata/fuzz/$target/)"
		failed=1
		sed -n '/--- FAIL/,$p' "$log" | head -n 40 >&2
	fi
	printf '%-14s %-28s %8s %12s %8s  %s\n' "$dir" "$target" "${elapsed:-?}" "${execs:-?}" "${new:-0}" "$result"
done <<<"$targets"
exit $failed
