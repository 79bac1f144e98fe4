#!/usr/bin/env bash
# Runs every fuzz target (func FuzzXxx in a _test.go file) for FUZZTIME each,
# one at a time: go test -fuzz takes one target per run. Each starts from its
# seeds (f.Add and testdata/fuzz/FuzzXxx) and Go's cache of inputs it found
# before. A failing input is written to testdata/fuzz/FuzzXxx/ beside the
# target: commit it as a regression seed once the bug is fixed. Prints one
# summary line per target (execs, new inputs, result) for docs/RELIABILITY.md.
#
#   scripts/fuzz.sh                  # every target, 10s each
#   FUZZTIME=30s scripts/fuzz.sh     # longer
#   FUZZMINIMIZETIME=60s ...         # how long Go may shrink each new or failing input (default 5s:
#                                    # Go's own 60s can use up a short run on one input)
#   scripts/fuzz.sh FuzzCursor       # the targets named
set -euo pipefail
cd "$(dirname "$0")/.."
GO=${GO:-go}
FUZZTIME=${FUZZTIME:-10s}
FUZZMINIMIZETIME=${FUZZMINIMIZETIME:-5s}

# "package FuzzName" for every target in the module.
mapfile -t targets < <(grep -rEo --include='*_test.go' --exclude-dir=node_modules '^func Fuzz[A-Za-z0-9_]+' . |
  sed -E 's#^(.*)/[^/]+_test\.go:func (Fuzz[A-Za-z0-9_]+)$#\1 \2#' | sort)
if (($# > 0)); then
  want=" $* "
  mapfile -t targets < <(printf '%s\n' "${targets[@]}" | while read -r pkg name; do
    [[ $want == *" $name "* ]] && echo "$pkg $name"; done)
fi
((${#targets[@]})) || { echo "fuzz: no targets" >&2; exit 1; }

summary=() failed=0 start=$SECONDS
for t in "${targets[@]}"; do
  read -r pkg name <<<"$t"
  echo "== $name ($pkg, $FUZZTIME)"
  log=$(mktemp)
  t0=$SECONDS
  if $GO test -run '^$' -fuzz "^${name}\$" -fuzztime "$FUZZTIME" -fuzzminimizetime "$FUZZMINIMIZETIME" "$pkg" 2>&1 | tee "$log"; then
    result=ok
  else
    result=FAILED failed=1
  fi
  # The last progress line: "fuzz: elapsed: 10s, execs: 123456 (12345/sec), new interesting: 3 (total: 40)".
  last=$(grep -E '^fuzz: elapsed: .*execs: ' "$log" | tail -n 1 || true)
  execs=$(sed -nE 's/.*execs: ([0-9]+) .*/\1/p' <<<"$last")
  new=$(sed -nE 's/.*new interesting: ([0-9]+) \(total: ([0-9]+)\).*/\1 new, corpus \2/p' <<<"$last")
  summary+=("$(printf '%-20s %-22s %10s execs  %-22s %4ss  %s' "$name" "$pkg" "${execs:-?}" "${new:-}" $((SECONDS - t0)) "$result")")
  rm -f "$log"
done

echo
echo "fuzz summary (FUZZTIME=$FUZZTIME, $((SECONDS - start))s in all):"
printf '  %s\n' "${summary[@]}"
exit $failed
