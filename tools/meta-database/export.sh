#!/usr/bin/env bash
# Export the nb201-v1 build into the committed, diff-friendly export folder (gzipped JSON lines +
# manifest with counts and sha256), with the plan/recipe/calibration facts of nb201-about.json.
#   tools/meta-database/export.sh [db (.tmp/meta-db/nb201-v1.sqlite)]
set -euo pipefail
cd "$(dirname "$0")/../.."
DB=${1:-${METAD2A_BUILD_DB:-.tmp/meta-db/nb201-v1.sqlite}}
npx tsx packages/cli/src/bin.ts db export --db "$DB" --format dir --out packages/meta-trainer/data/nb201-measured --about tools/meta-database/nb201-about.json
npx tsx packages/cli/src/bin.ts db stats --db builtin:nb201 --json | head -c 400; echo
