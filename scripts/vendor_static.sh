#!/usr/bin/env bash
# Refresh the vendored front-end libraries under static/vendor/ from the npm registry.
#
# The console and the MFE host (/rawr/) serve these files themselves (no CDN, no bundler at
# run time), so each library is pinned here, copied with its licence, and committed. To
# upgrade: change a pin below, run this script, look at the canvas, the run page and /rawr/
# in a browser, run tests/browser, commit.
#
# The ES-module libraries of the MFE host (@orpc/client's RPCLink, @cfworker/json-schema)
# are bundled here, once, by a pinned esbuild into one browser ES module each; the
# committed output is what runs.
#
#   bash scripts/vendor_static.sh          # needs `npm` (installs into a temporary dir only)
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
# ES modules for /rawr/ (the MFE host): bundled with esbuild at vendor time.
ORPC_VERSION="1.16.1"        # the same as tests/e2e/node/package.json
JSON_SCHEMA_VERSION="4.1.6"  # @cfworker/json-schema
ESBUILD_VERSION="0.25.12"

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
for dir in cytoscape cytoscape-dagre cytoscape-edgehandles lodash orpc-client json-schema; do
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

# -- ES modules of the MFE host: one bundle each, built from the pinned packages ----------
ESM="$WORK/esm"
mkdir -p "$ESM"
(
  cd "$ESM"
  echo '{"name":"rawr-vendor-esm","version":"0.0.0","private":true}' > package.json
  npm install --silent --no-audit --no-fund --no-save \
    "@orpc/client@$ORPC_VERSION" "@cfworker/json-schema@$JSON_SCHEMA_VERSION" \
    "esbuild@$ESBUILD_VERSION" >/dev/null
  cat > orpc-client-entry.mjs <<'JS'
export { createORPCClient, ORPCError, isDefinedError, safe } from '@orpc/client'
export { RPCLink } from '@orpc/client/fetch'
JS
  cat > json-schema-entry.mjs <<'JS'
export { Validator, validate, dereference } from '@cfworker/json-schema'
JS
  for name in orpc-client json-schema; do
    ./node_modules/.bin/esbuild "$name-entry.mjs" --bundle --format=esm --platform=browser \
      --target=es2020 --legal-comments=eof --log-level=warning \
      --banner:js="// Vendored by scripts/vendor_static.sh (esbuild $ESBUILD_VERSION); do not edit." \
      --metafile="$name.meta.json" --outfile="$VENDOR/$name/$name.js"
  done
)
# Licences: every package that went into a bundle (read off esbuild's metafile).
for name in orpc-client json-schema; do
  (cd "$ESM" && node -e '
    const fs = require("fs"), path = require("path");
    const [meta, dest] = process.argv.slice(1);
    const pkgs = new Set();
    for (const input of Object.keys(JSON.parse(fs.readFileSync(meta)).inputs)) {
      const m = input.match(/node_modules\/((?:@[^/]+\/)?[^/]+)\//);
      if (m) pkgs.add(m[1]);
    }
    const lines = [];
    for (const name of [...pkgs].sort()) {
      const dir = path.join("node_modules", name);
      const pkg = JSON.parse(fs.readFileSync(path.join(dir, "package.json")));
      const file = fs.readdirSync(dir).find((f) => /^licen[cs]e/i.test(f));
      const slug = name.replace("@", "").replace("/", "-");
      if (file) {
        fs.copyFileSync(path.join(dir, file), path.join(dest, "LICENSE." + slug));
      } else {
        // The package declares its licence but ships no licence file (e.g. @cfworker/json-schema).
        const author = typeof pkg.author === "string" ? pkg.author : (pkg.author || {}).name;
        fs.writeFileSync(path.join(dest, "LICENSE." + slug),
          `${name}@${pkg.version} declares the ${pkg.license} licence in its package.json and ships no licence file.\n` +
          `Copyright (c) ${author}. Source: ${JSON.stringify(pkg.repository)}\n\n` +
          fs.readFileSync(path.join("node_modules", "@orpc", "client", "LICENSE"), "utf8")
            .replace(/^Copyright.*$/m, `Copyright (c) ${author}`));
      }
      lines.push(`${name}@${pkg.version}  ${pkg.license}`);
    }
    fs.writeFileSync(path.join(dest, "BUNDLED"), lines.join("\n") + "\n");
  ' "$name.meta.json" "$VENDOR/$name")
done

{
  echo "# Pinned front-end libraries (refreshed by scripts/vendor_static.sh from the npm registry)."
  echo "# package@version  licence  ->  static/vendor/<dir>/"
  for spec in "${PINS[@]}"; do
    lic="$(cd "${DIRS[$spec]}" && node -e 'console.log(require("./package.json").license)')"
    echo "$spec  $lic"
  done
  echo "# ES-module bundles (esbuild@$ESBUILD_VERSION) -> static/vendor/<dir>/<dir>.js; contents in <dir>/BUNDLED"
  echo "@orpc/client@$ORPC_VERSION  MIT  -> orpc-client"
  echo "@cfworker/json-schema@$JSON_SCHEMA_VERSION  MIT  -> json-schema"
} > "$VENDOR/VERSIONS"

echo "vendored into $VENDOR:"
(cd "$VENDOR" && find . -type f | sort)
