#!/bin/sh
# The demo's writing agent (run by heepr-agent --exec): turns the customer's
# brief into a structured Markdown report with the tools of a plain machine
# (sh, awk, sort). heepr-agent sets the HEEPR_* variables (docs/agents.md).
set -eu

brief=$(awk '/^### customer/{getline; getline; while ($0 != "" ) {print; if (getline <= 0) break}; exit}' "$HEEPR_CONVERSATION_FILE")
[ -n "$brief" ] || brief=$HEEPR_TITLE
words=$(printf '%s\n' "$brief" | wc -w | tr -d ' ')
terms=$(printf '%s\n' "$brief" | tr 'A-Z' 'a-z' | tr -cs 'a-z' '\n' |
  awk 'length($0) > 3 && !/^(that|this|with|from|have|what|about|would|could|please|write|need|want|your|some|into|them|they|their|there|which|will|make|report)$/' |
  sort | uniq -c | sort -rn | head -5 | awk '{print $2}')
report="$HEEPR_OUTPUT_DIR/report.md"
{
  echo "# Report: $HEEPR_TITLE"
  echo
  echo "_Order $HEEPR_ORDER_ID, revision $HEEPR_REVISION, written $(date -u +%Y-%m-%dT%H:%MZ)._"
  echo
  echo "## Summary"
  echo
  echo "This report answers a brief of $words words. Its key terms are:"
  echo
  for t in $terms; do echo "- **$t**"; done
  echo
  echo "## The brief"
  echo
  printf '%s\n' "$brief" | sed 's/^/> /'
  echo
  echo "## Sections"
  echo
  n=1
  for t in $terms; do
    echo "### $n. $(printf '%s' "$t" | awk '{print toupper(substr($0,1,1)) substr($0,2)}')"
    echo
    echo "What the brief asks about $t, what is known, and what to decide next."
    echo
    n=$((n + 1))
  done
  if [ -s "$HEEPR_REVISION_FILE" ]; then
    echo "## Changes asked for in revisions"
    echo
    cat "$HEEPR_REVISION_FILE"
  fi
  if [ -s "$HEEPR_OWNER_NOTES_FILE" ]; then
    echo "## Changes asked for by the owner"
    echo
    cat "$HEEPR_OWNER_NOTES_FILE"
  fi
  echo "## Next steps"
  echo
  echo "1. Review the sections above against your brief."
  echo "2. Ask for a revision naming anything that is missing."
} > "$report"
printf 'Your report is ready: %s words in %s sections. Ask for a revision if anything is missing.\n' \
  "$(wc -w < "$report" | tr -d ' ')" "$(printf '%s\n' $terms | grep -c . || true)" > "$HEEPR_MESSAGE_FILE"
