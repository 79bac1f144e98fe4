#!/usr/bin/env bash
# Fails when openapi.yaml breaks a client of the last release (docs/api.md,
# Versioning): compares the working openapi.yaml with the one of the newest
# release tag (v*) reachable from HEAD, using oasdiff (pinned in tools/go.mod),
# and fails on any change of level ERR. Without a release tag there is
# nothing to compare with: it says so and passes.
#
#   scripts/check-breaking.sh            # against the last release tag
#   BREAKING_BASE=<git ref> scripts/check-breaking.sh   # against any commit, branch or tag
set -euo pipefail
cd "$(dirname "$0")/.."
GO=${GO:-go}
spec=openapi.yaml

if ! git rev-parse --git-dir >/dev/null 2>&1; then
  echo "check-breaking: not a git checkout; no release to compare $spec with: skipped"
  exit 0
fi

base=${BREAKING_BASE:-}
if [[ -z "$base" ]]; then
  if ! base=$(git describe --tags --abbrev=0 --match 'v*' 2>/dev/null); then
    if [[ "$(git rev-parse --is-shallow-repository)" == true ]]; then
      echo "check-breaking: shallow clone without its release tags (fetch them with" \
        "'git fetch --tags --unshallow'); nothing to compare $spec with: skipped"
    else
      echo "check-breaking: no release tag (v*) yet; nothing to compare $spec with: skipped"
    fi
    exit 0
  fi
fi

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
old="$tmp/openapi@${base//\//_}.yaml"
if ! git show "$base:$spec" >"$old" 2>/dev/null; then
  echo "check-breaking: $base has no $spec; nothing to compare with: skipped"
  exit 0
fi

echo "check-breaking: $spec against $base"
if ! "$GO" tool -modfile=tools/go.mod oasdiff breaking "$old" "$spec" --fail-on ERR --color never; then
  echo "check-breaking: $spec breaks clients of $base (see above). Within /v1 changes are additive" \
    "only (docs/api.md, Versioning): undo the change, or make it in a new API version." >&2
  exit 1
fi
