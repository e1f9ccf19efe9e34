#!/usr/bin/env bash
# Stops the radosgw started by rgw_start.sh DIR and removes DIR.
# Usage: rgw_stop.sh DIR
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
shared=${MW_SHARED_DIR:-$here/../../../shared}
dir=${1:?usage: rgw_stop.sh DIR}
bash "$shared/s3/rgw_down.sh" "$dir" >/dev/null 2>&1
rm -rf "$dir" "$dir.up.log"
