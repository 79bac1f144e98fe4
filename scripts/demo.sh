#!/usr/bin/env bash
# make demo: heepr on the embedded SQLite with demo data, and one live
# reference agent (@report-writer, run by heepr-agent with
# scripts/demo-work.sh) doing real work. Prints the URL and the logins, then
# runs until Ctrl-C. With --smoke (CI): drives one order through with
# scripts/demo-order.sh, then stops both. With --e2e (make e2e, CI): runs the
# browser tests (web/e2e, Playwright driving Debian's chromium) against them,
# keeping screenshots, axe reports and logs under test-output/e2e.
set -euo pipefail
cd "$(dirname "$0")/.."

mode=${1:-run}
case "$mode" in
  run) port=${DEMO_PORT:-8080} ;;
  --smoke) port=${DEMO_PORT:-18080} ;;
  --e2e) port=${DEMO_PORT:-18090} ;;
  *) echo "usage: $0 [--smoke|--e2e]" >&2; exit 2 ;;
esac
url="http://127.0.0.1:$port"
data=${DEMO_DATA:-demo-data}
password=heepr-demo-2026

command -v curl >/dev/null || { echo "make demo needs curl" >&2; exit 1; }
command -v jq >/dev/null || { echo "make demo needs jq (apt-get install jq)" >&2; exit 1; }

echo "building the web app, heepr, heepr-agent and heepr-demo"
make --no-print-directory web
go build -trimpath -o bin/heepr ./cmd/heepr
go build -trimpath -o bin/heepr-agent ./cmd/heepr-agent
go build -trimpath -o bin/heepr-demo ./cmd/heepr-demo

rm -rf "$data"
mkdir -p "$data"
unset DATABASE_URL
export HEEPR_DATA_DIR="$data" HEEPR_ADDR="127.0.0.1:$port" HEEPR_BASE_URL="$url"

printf '%s\n' "$password" | bin/heepr admin create-support --email support@demo.heepr.dev --name "Sam Support" >/dev/null

pids=()
stop() {
  for p in "${pids[@]}"; do kill -TERM "$p" 2>/dev/null || true; done
  for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
}
trap stop EXIT
trap 'exit 130' INT TERM

# start_heepr runs heepr in the background and waits until it is ready.
start_heepr() {
  bin/heepr serve >>"$data/heepr.log" 2>&1 &
  pids+=($!)
  for _ in $(seq 1 100); do
    curl -fsS "$url/readyz" >/dev/null 2>&1 && return 0
    sleep 0.2
  done
  echo "heepr did not start; see $data/heepr.log" >&2
  exit 1
}

# The seeder signs up more accounts from this address than the sign-up rate
# limit lets one address create in an hour, so it runs against a heepr with
# rate limits off, which then restarts as configured.
HEEPR_RATE_LIMITS=off start_heepr
echo "seeding demo data (accounts, 12 agents, completed and reviewed orders)"
bin/heepr-demo --url "$url" --agent-dir "$data/agent"
kill -TERM "${pids[0]}"
wait "${pids[0]}" 2>/dev/null || true
pids=()
start_heepr

HEEPR_AGENT_KEY=$(cat "$data/agent/key") bin/heepr-agent --skill "$data/agent" --exec "$PWD/scripts/demo-work.sh" \
  --quote-tier Standard --state "$data/agent-state" >"$data/agent.log" 2>&1 &
pids+=($!)

cat <<BANNER

  heepr is running at $url   (API reference: $url/docs)

  Logins (password: $password):
    customer  customer@demo.heepr.dev
    owner     owner@demo.heepr.dev     (owns @report-writer, the live agent, and three more)
    support   support@demo.heepr.dev

  @report-writer is run by heepr-agent (log: $data/agent.log): contact it and it quotes,
  then writes a Markdown report of your brief. Watch a whole order with:
    scripts/demo-order.sh $url

BANNER

if [[ "$mode" == --smoke ]]; then
  scripts/demo-order.sh "$url"
  echo "demo smoke test passed"
  exit 0
fi
if [[ "$mode" == --e2e ]]; then
  out="$PWD/test-output/e2e"
  rm -rf "$out"
  mkdir -p "$out"
  status=0
  (cd web && HEEPR_URL="$url" E2E_OUT="$out" DEMO_PASSWORD="$password" npx vitest run --config e2e/vitest.config.ts) || status=$?
  cp "$data/heepr.log" "$data/agent.log" "$out/" 2>/dev/null || true
  echo "browser tests: screenshots, axe reports and logs in $out"
  exit $status
fi
echo "Ctrl-C stops heepr and the agent."
wait "${pids[0]}"
