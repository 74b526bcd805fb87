#!/usr/bin/env bash
# Export a build into its committed, diff-friendly export folder (gzipped JSON lines + manifest with
# counts and sha256), with the plan/recipe/calibration facts of the plan's about file:
#   nb201-v1          -> packages/meta-trainer/data/nb201-measured          (builtin:nb201)
#   nb201-heldout-v1  -> packages/meta-trainer/data/nb201-heldout-measured  (builtin:nb201-heldout)
#   tools/meta-database/export.sh [plan (nb201-v1)] [db (.tmp/meta-db/<plan>.sqlite)]
set -euo pipefail
cd "$(dirname "$0")/../.."
PLAN=${1:-nb201-v1}
DB=${2:-${METAD2A_BUILD_DB:-.tmp/meta-db/$PLAN.sqlite}}
case "$PLAN" in
  nb201-v1) NAME=nb201; ABOUT=tools/meta-database/nb201-about.json ;;
  nb201-heldout-v1) NAME=nb201-heldout; ABOUT=tools/meta-database/nb201-heldout-about.json ;;
  *) echo "export.sh: no export folder for plan '$PLAN' (expected nb201-v1 or nb201-heldout-v1)" >&2; exit 2 ;;
esac
# the records alone: class features are re-made by `db features` (seconds) and would dwarf them
npx tsx packages/cli/src/bin.ts db export --db "$DB" --format dir --out "packages/meta-trainer/data/$NAME-measured" --about "$ABOUT" --without-features
npx tsx packages/cli/src/bin.ts db stats --db "builtin:$NAME" --json | head -c 400; echo
