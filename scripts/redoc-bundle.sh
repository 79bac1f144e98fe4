#!/usr/bin/env bash
# The API reference at /docs is Redoc's standalone bundle, embedded in the
# binary. This fetches the version named in adapters/http/apidocs/REDOC_VERSION
# from the npm registry and either checks the committed copy is exactly that
# file (--check, run by make lint) or refreshes it (no argument).
set -euo pipefail
cd "$(dirname "$0")/.."
dir=adapters/http/apidocs
version=$(tr -d '[:space:]' < "$dir/REDOC_VERSION")
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
(cd "$tmp" && npm pack "redoc@$version" --silent >/dev/null && tar xzf "redoc-$version.tgz")
src="$tmp/package"
if [[ "${1:-}" == "--check" ]]; then
  for f in bundles/redoc.standalone.js:redoc.standalone.js bundles/redoc.standalone.js.LICENSE.txt:redoc.standalone.js.LICENSE.txt LICENSE:REDOC-LICENSE; do
    if ! cmp -s "$src/${f%%:*}" "$dir/${f##*:}"; then
      echo "$dir/${f##*:} is not redoc@$version's ${f%%:*}: run scripts/redoc-bundle.sh and commit" >&2
      exit 1
    fi
  done
  echo "redoc@$version bundle matches"
else
  cp "$src/bundles/redoc.standalone.js" "$dir/redoc.standalone.js"
  cp "$src/bundles/redoc.standalone.js.LICENSE.txt" "$dir/redoc.standalone.js.LICENSE.txt"
  cp "$src/LICENSE" "$dir/REDOC-LICENSE"
  echo "copied redoc@$version into $dir"
fi
