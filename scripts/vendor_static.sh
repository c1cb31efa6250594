#!/usr/bin/env bash
# Refresh the vendored front-end libraries under static/vendor/ from the npm registry.
#
# The console serves these files itself (no CDN, no bundler at run time), so each library is
# pinned here, copied with its licence, and committed. To upgrade: change a pin below, run
# this script, look at the canvas and run page in a browser, run tests/browser, commit.
#
#   bash scripts/vendor_static.sh          # needs `npm` (only `npm pack`: nothing is installed)
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENDOR="$ROOT/static/vendor"
WORK="$(mktemp -d)"
trap 'rm -rf "$WORK"' EXIT

# name@version  ->  files to copy (path inside the package, then name under static/vendor/<dir>/)
# cytoscape-dagre's dist bundles @dagrejs/dagre and @dagrejs/graphlib; their licences are
# fetched from their own packages at the versions the bundle was built with.
PINS=(
  "cytoscape@3.35.0"
  "cytoscape-dagre@4.0.1"
  "@dagrejs/dagre@3.0.0"
  "@dagrejs/graphlib@4.0.1"
  "cytoscape-edgehandles@4.0.1"
  "lodash@4.17.21"
)

unpack() {  # unpack <name@version> -> prints the unpacked package dir
  local spec="$1" dir="$WORK/$(echo "$1" | tr '/@' '__')"
  mkdir -p "$dir"
  (cd "$dir" && npm pack --silent "$spec" >/dev/null && tar xzf ./*.tgz)
  echo "$dir/package"
}

copy() {  # copy <pkgdir> <src> <dest dir under vendor> [<dest name>]
  local pkg="$1" src="$2" dest="$VENDOR/$3" name="${4:-$(basename "$2")}"
  mkdir -p "$dest"
  cp "$pkg/$src" "$dest/$name"
}

declare -A DIRS
for spec in "${PINS[@]}"; do
  DIRS["$spec"]="$(unpack "$spec")"
done

# Replace only the directories this script manages (others may vendor beside them).
for dir in cytoscape cytoscape-dagre cytoscape-edgehandles lodash; do
  rm -rf "${VENDOR:?}/$dir"
done
mkdir -p "$VENDOR"

p="${DIRS[cytoscape@3.35.0]}"
copy "$p" dist/cytoscape.min.js cytoscape
copy "$p" LICENSE cytoscape

p="${DIRS[cytoscape-dagre@4.0.1]}"
copy "$p" dist/cytoscape-dagre.js cytoscape-dagre
copy "$p" LICENSE cytoscape-dagre
copy "${DIRS[@dagrejs/dagre@3.0.0]}" LICENSE cytoscape-dagre LICENSE.dagrejs-dagre
copy "${DIRS[@dagrejs/graphlib@4.0.1]}" LICENSE cytoscape-dagre LICENSE.dagrejs-graphlib

p="${DIRS[cytoscape-edgehandles@4.0.1]}"
copy "$p" cytoscape-edgehandles.js cytoscape-edgehandles
copy "$p" LICENSE cytoscape-edgehandles

# cytoscape-edgehandles' browser build takes memoize/throttle from window._ (lodash).
p="${DIRS[lodash@4.17.21]}"
copy "$p" lodash.min.js lodash
copy "$p" LICENSE lodash

{
  echo "# Pinned front-end libraries (refreshed by scripts/vendor_static.sh from the npm registry)."
  echo "# package@version  licence  ->  static/vendor/<dir>/"
  for spec in "${PINS[@]}"; do
    lic="$(cd "${DIRS[$spec]}" && node -e 'console.log(require("./package.json").license)')"
    echo "$spec  $lic"
  done
} > "$VENDOR/VERSIONS"

echo "vendored into $VENDOR:"
(cd "$VENDOR" && find . -type f | sort)
