#!/usr/bin/env bash
# Rebuild vault/fonts/ from Debian's fonts-dejavu-core (2.37): DejaVu Sans and Sans Bold, subset to the
# scripts names in this vault come in (Latin, Greek, Cyrillic, Armenian, Hebrew, Arabic, Georgian) plus
# punctuation and symbols, with every layout feature kept (Arabic joins through GSUB). pyftsubset comes
# with fonttools, which fpdf2 installs. Run from the project's root: scripts/subset_fonts.sh
set -euo pipefail
src=${DEJAVU_DIR:-/usr/share/fonts/truetype/dejavu}
ranges="U+0020-024F,U+0250-02FF,U+0300-036F,U+0370-03FF,U+0400-052F,U+0530-058F,U+0590-05FF,U+0600-06FF"
ranges+=",U+0750-077F,U+10A0-10FF,U+1E00-1EFF,U+2000-206F,U+20A0-20CF,U+2100-214F,U+2190-21FF"
ranges+=",U+FB00-FB4F,U+FB50-FDFF,U+FE70-FEFF"
for face in DejaVuSans DejaVuSans-Bold; do
  .venv/bin/pyftsubset "$src/$face.ttf" --unicodes="$ranges" --layout-features='*' --name-IDs='*' \
    --name-legacy --notdef-outline --output-file="vault/fonts/$face.ttf"
done
