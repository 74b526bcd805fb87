#!/usr/bin/env bash
# Export a build into its committed, diff-friendly export folder (gzipped JSON lines + manifest with
# counts and sha256), with the plan/recipe/calibration facts of the plan's about file:
#   nb201-v1          -> packages/meta-trainer/data/nb201-measured          (builtin:nb201; the plan's records alone)
#   nb201-v1-replicated -> packages/meta-trainer/data/nb201-replicated-measured (builtin:nb201-replicated:
#                        the same database with every further training of --replicates)
#   nb201-dense-v1    -> packages/meta-trainer/data/nb201-dense-measured    (builtin:nb201-dense)
#   nb201-heldout-v1  -> packages/meta-trainer/data/nb201-heldout-measured  (builtin:nb201-heldout)
#   nb201-heldout-dev-v1 -> packages/meta-trainer/data/nb201-heldout-dev-measured (builtin:nb201-heldout-dev)
#   nb201-heldout-dev-v2 -> packages/meta-trainer/data/nb201-heldout-dev2-measured (builtin:nb201-heldout-dev2)
#   mbv3-v1           -> packages/meta-trainer/data/mbv3-measured           (builtin:mbv3)
#   mbv3-heldout-v1   -> packages/meta-trainer/data/mbv3-heldout-measured   (builtin:mbv3-heldout)
#   tools/meta-database/export.sh [plan (nb201-v1)] [db (.tmp/meta-db/<plan>.sqlite)]
set -euo pipefail
cd "$(dirname "$0")/../.."
PLAN=${1:-nb201-v1}
DB=${2:-${METAD2A_BUILD_DB:-.tmp/meta-db/${PLAN%-replicated}.sqlite}}
REPLICATE0=
case "$PLAN" in
  nb201-v1) NAME=nb201; ABOUT=tools/meta-database/nb201-about.json; REPLICATE0=--without-replicates ;;
  nb201-v1-replicated) NAME=nb201-replicated; ABOUT=tools/meta-database/nb201-replicated-about.json ;;
  nb201-dense-v1) NAME=nb201-dense; ABOUT=tools/meta-database/nb201-dense-about.json ;;
  nb201-heldout-v1) NAME=nb201-heldout; ABOUT=tools/meta-database/nb201-heldout-about.json ;;
  nb201-heldout-dev-v1) NAME=nb201-heldout-dev; ABOUT=tools/meta-database/nb201-heldout-dev-about.json ;;
  nb201-heldout-dev-v2) NAME=nb201-heldout-dev2; ABOUT=tools/meta-database/nb201-heldout-dev2-about.json ;;
  mbv3-v1) NAME=mbv3; ABOUT=tools/meta-database/mbv3-about.json ;;
  mbv3-heldout-v1) NAME=mbv3-heldout; ABOUT=tools/meta-database/mbv3-heldout-about.json ;;
  *) echo "export.sh: no export folder for plan '$PLAN' (expected nb201-v1, nb201-dense-v1, nb201-heldout-v1, nb201-heldout-dev-v1, nb201-heldout-dev-v2, mbv3-v1 or mbv3-heldout-v1)" >&2; exit 2 ;;
esac
# the records alone: class features are re-made by `db features` (seconds) and would dwarf them
npx tsx packages/cli/src/bin.ts db export --db "$DB" --format dir --out "packages/meta-trainer/data/$NAME-measured" --about "$ABOUT" --without-features $REPLICATE0
npx tsx packages/cli/src/bin.ts db stats --db "builtin:$NAME" --json | head -c 400; echo
