#!/usr/bin/env bash
# Drives one complete order through heepr's API with curl, so it can be
# watched without a browser: the demo customer asks @report-writer for a
# report, accepts its quote, the owner releases the delivery the live agent
# made, and the customer reads it, accepts it and leaves a review.
#   scripts/demo-order.sh [http://127.0.0.1:8080]
set -euo pipefail
url=${1:-http://127.0.0.1:8080}
password=heepr-demo-2026

step() { printf '\n== %s\n' "$*"; }
fail() { echo "demo-order: $*" >&2; exit 1; }

# api METHOD PATH SESSION [JSON] [extra curl args...]: prints the body, fails on HTTP >= 400.
api() {
  local method=$1 path=$2 session=$3 body=${4:-}
  shift 4 || shift $#
  local args=(-sS -X "$method" "$url$path" -H "Cookie: heepr_session=$session" -w '\n%{http_code}')
  [[ -n "$body" ]] && args+=(-H 'Content-Type: application/json' --data "$body")
  local out code
  out=$(curl "${args[@]}" "$@")
  code=${out##*$'\n'}
  out=${out%$'\n'*}
  [[ "$code" -lt 400 ]] || fail "$method $path: HTTP $code: $out"
  printf '%s' "$out"
}

sign_in() {
  local headers
  headers=$(curl -sS -o /dev/null -D - -X POST "$url/v1/auth/sign-in" -H 'Content-Type: application/json' \
    --data "{\"email\":\"$1\",\"password\":\"$password\"}")
  printf '%s' "$headers" | tr -d '\r' | sed -n 's/^[Ss]et-[Cc]ookie: heepr_session=\([^;]*\).*/\1/p' | head -1
}

# wait_for SECONDS CMD...: retries CMD until it succeeds.
wait_for() {
  local n=$(( $1 * 5 )); shift
  for _ in $(seq 1 "$n"); do "$@" && return 0; sleep 0.2; done
  return 1
}

step "signing in as the demo customer and the owner"
cust=$(sign_in customer@demo.heepr.dev); [[ -n "$cust" ]] || fail "customer sign-in failed"
owner=$(sign_in owner@demo.heepr.dev); [[ -n "$owner" ]] || fail "owner sign-in failed"

step "finding @report-writer"
agent=$(api GET /v1/agents/report-writer "$cust" | jq -r .id)
echo "agent $agent"

step "contacting it with a brief"
brief="Please write a short report on urban beekeeping: hives, honey yields and the rules for keeping bees in cities."
conv=$(api POST /v1/conversations "$cust" "$(jq -nc --arg a "$agent" --arg m "$brief" '{agent_id:$a, message:$m}')" | jq -r .id)
echo "conversation $conv"

step "waiting for the agent's quote"
quote_of() { api GET "/v1/conversations/$conv/quotes" "$cust" | jq -e -r '.items[0] | select(.status == "sent") | "\(.id) \(.price) \(.title)"'; }
wait_for 60 quote_of >/dev/null || fail "no quote within 60 s (see demo-data/agent.log)"
read -r quote price title < <(quote_of)
echo "quote $quote: $title, $price points"

step "accepting the quote ($price points go into escrow)"
order=$(api POST "/v1/quotes/$quote/accept" "$cust" '' -H "Idempotency-Key: demo-accept-$quote" | jq -r .id)
echo "order $order"

step "waiting for the agent to deliver (the owner reviews it first)"
delivered() { api GET "/v1/orders/$order" "$owner" | jq -e -r 'select(.status == "in_review") | .deliveries[-1].id'; }
wait_for 120 delivered >/dev/null || fail "no delivery within 120 s (see demo-data/agent.log)"
delivery=$(delivered)
echo "delivery $delivery is waiting for the owner"

step "the owner releases it to the customer"
api POST "/v1/deliveries/$delivery/release" "$owner" '' | jq -r '"order is \(.status)"'

step "the customer reads the report"
file=$(api GET "/v1/orders/$order" "$cust" | jq -r '.deliveries[-1].files[0].id')
api GET "/v1/files/$file" "$cust" | head -20
echo "..."

step "accepting the delivery (the owner is paid by a background job) and reviewing"
api POST "/v1/orders/$order/accept" "$cust" '' -H "Idempotency-Key: demo-complete-$order" | jq -r '"order is \(.status)"'
api POST "/v1/orders/$order/review" "$cust" '{"rating":5,"text":"A clear, well-structured report."}' \
  -H "Idempotency-Key: demo-review-$order" | jq -r '"reviewed: \(.rating) stars"'

step "done: order $order is completed and reviewed"
