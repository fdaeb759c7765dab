#!/bin/sh
# Copy the front-end assets Weft serves from node_modules into static/vendor/.
# The suite runs air-gapped, so these files are committed; node_modules is not.
#
#   npm ci && sh static/vendor/update.sh        (or: npm run vendor)
#
# Versions are pinned exactly in package.json / package-lock.json; bump them with
# `npm install --save-exact <pkg>@<version>` and run this script again.
set -eu

ROOT=$(CDPATH= cd -- "$(dirname -- "$0")/../.." && pwd)
NM="$ROOT/node_modules"
OUT="$ROOT/static/vendor"

for pkg in bootstrap bootstrap-icons htmx.org sortablejs echarts fullcalendar @fullcalendar/core; do
    if [ ! -d "$NM/$pkg" ]; then
        echo "node_modules/$pkg is missing: run 'npm ci' first" >&2
        exit 1
    fi
done

version() {
    node -p "require('$NM/$1/package.json').version"
}

rm -rf "$OUT/bootstrap" "$OUT/bootstrap-icons" "$OUT/htmx" "$OUT/sortablejs" "$OUT/fullcalendar"

# Bootstrap: css + bundle js (Popper included). The source maps are copied too, because the
# minified files name them and ManifestStaticFilesStorage refuses a reference it cannot find.
mkdir -p "$OUT/bootstrap/css" "$OUT/bootstrap/js"
cp "$NM/bootstrap/dist/css/bootstrap.min.css" "$NM/bootstrap/dist/css/bootstrap.min.css.map" \
    "$OUT/bootstrap/css/"
cp "$NM/bootstrap/dist/js/bootstrap.bundle.min.js" \
    "$NM/bootstrap/dist/js/bootstrap.bundle.min.js.map" "$OUT/bootstrap/js/"
cp "$NM/bootstrap/LICENSE" "$OUT/bootstrap/LICENSE"
version bootstrap > "$OUT/bootstrap/VERSION"

# Bootstrap Icons: the icon font and its stylesheet (fonts/ sits next to the css).
mkdir -p "$OUT/bootstrap-icons/fonts"
cp "$NM/bootstrap-icons/font/bootstrap-icons.min.css" "$OUT/bootstrap-icons/"
cp "$NM/bootstrap-icons/font/fonts/bootstrap-icons.woff2" \
    "$NM/bootstrap-icons/font/fonts/bootstrap-icons.woff" "$OUT/bootstrap-icons/fonts/"
cp "$NM/bootstrap-icons/LICENSE" "$OUT/bootstrap-icons/LICENSE"
version bootstrap-icons > "$OUT/bootstrap-icons/VERSION"

# htmx
mkdir -p "$OUT/htmx"
cp "$NM/htmx.org/dist/htmx.min.js" "$OUT/htmx/"
cp "$NM/htmx.org/LICENSE" "$OUT/htmx/LICENSE"
version htmx.org > "$OUT/htmx/VERSION"

# SortableJS: drag-and-drop of the sales kanban board (touch-friendly, no dependencies).
mkdir -p "$OUT/sortablejs"
cp "$NM/sortablejs/Sortable.min.js" "$OUT/sortablejs/"
cp "$NM/sortablejs/LICENSE" "$OUT/sortablejs/LICENSE"
version sortablejs > "$OUT/sortablejs/VERSION"

# ECharts: the full UMD build (it carries the Chinese and English locales). Charts only; no map
# JSON ships with ECharts 5, so the customer profile shows provinces as ranked bars.
rm -rf "$OUT/echarts"
mkdir -p "$OUT/echarts"
cp "$NM/echarts/dist/echarts.min.js" "$OUT/echarts/"
cp "$NM/echarts/LICENSE" "$NM/echarts/NOTICE" "$OUT/echarts/"
version echarts > "$OUT/echarts/VERSION"

# FullCalendar (calendar pages): the global bundle (core + day grid, time grid, list, multi-month
# and interaction; v6 injects its own CSS) and the Simplified Chinese locale.
mkdir -p "$OUT/fullcalendar/locales"
cp "$NM/fullcalendar/index.global.min.js" "$OUT/fullcalendar/"
cp "$NM/@fullcalendar/core/locales/zh-cn.global.min.js" "$OUT/fullcalendar/locales/"
cp "$NM/fullcalendar/LICENSE.md" "$OUT/fullcalendar/LICENSE.md"
version fullcalendar > "$OUT/fullcalendar/VERSION"

echo "static/vendor: bootstrap $(version bootstrap), bootstrap-icons $(version bootstrap-icons)," \
    "htmx.org $(version htmx.org), sortablejs $(version sortablejs), echarts $(version echarts)," \
    "fullcalendar $(version fullcalendar)"
