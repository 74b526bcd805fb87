#!/usr/bin/env bash
# Start or resume a named meta-database build in the background: nice'd worker processes (one per
# shard of the plan, all writing one SQLite file), one progress line per record with an ETA in the
# log. Pairs already recorded are skipped, so a killed build loses at most the pairs in training.
#   tools/meta-database/build.sh [plan (nb201-v1)] [workers (2)] [replicates (1)]
# replicates > 1 adds further trainings of every planned pair (`db build --replicates`): every
# pair's second training before any third, each with a seed of its own.
# (nb201-v1 with replicates > 1: from nb201-replicated-measured, which holds the further trainings.)
# The nb201-v1, nb201-dense-v1, nb201-heldout-v1, nb201-heldout-dev-v2, mbv3-v1 and mbv3-heldout-v1 databases start from their committed
# exports (packages/meta-trainer/data/nb201-measured, nb201-dense-measured, nb201-heldout-measured,
# nb201-heldout-dev2-measured, mbv3-measured,
# mbv3-heldout-measured) when there is one, so a new machine or session continues where the last
# export left off.
set -euo pipefail
cd "$(dirname "$0")/../.."
PLAN=${1:-nb201-v1}
WORKERS=${2:-2}
REPLICATES=${3:-1}
DB=${METAD2A_BUILD_DB:-.tmp/meta-db/$PLAN.sqlite}
LOG=${DB%.sqlite}.log
case "$PLAN" in
  # with further trainings (replicates > 1) the build resumes from the export that holds them
  nb201-v1) if [ "$REPLICATES" -gt 1 ] && [ -f packages/meta-trainer/data/nb201-replicated-measured/manifest.json ]; then
      EXPORT=packages/meta-trainer/data/nb201-replicated-measured
    else EXPORT=packages/meta-trainer/data/nb201-measured; fi ;;
  nb201-heldout-v1) EXPORT=packages/meta-trainer/data/nb201-heldout-measured ;;
  nb201-heldout-dev-v2) EXPORT=packages/meta-trainer/data/nb201-heldout-dev2-measured ;;
  nb201-dense-v1) EXPORT=packages/meta-trainer/data/nb201-dense-measured ;;
  mbv3-v1) EXPORT=packages/meta-trainer/data/mbv3-measured ;;
  mbv3-heldout-v1) EXPORT=packages/meta-trainer/data/mbv3-heldout-measured ;;
  *) EXPORT= ;;
esac
mkdir -p "$(dirname "$DB")"
if [ ! -f "$DB" ] && [ -n "$EXPORT" ] && [ -f "$EXPORT/manifest.json" ]; then
  npx tsx packages/cli/src/bin.ts db import --db "$DB" --from "$EXPORT"
fi
# The native kernels sum some gradients per thread, so a record's bytes depend on the thread count:
# every nb201-v1 and mbv3-v1 record is trained with 2 kernel threads per worker process (on any machine).
export METAD2A_THREADS=${METAD2A_THREADS:-2}
nohup nice -n 10 npx tsx packages/cli/src/bin.ts db build --plan "$PLAN" --db "$DB" --workers "$WORKERS" --replicates "$REPLICATES" >>"$LOG" 2>&1 &
echo "building $PLAN into $DB (pid $!); progress: tail -f $LOG"
