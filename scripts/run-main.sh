#!/usr/bin/env bash
# The main job on a local folder, no server needed: installs dependencies,
# builds memwal, then decodes every WAL entry of the reference shard that real
# Lance wrote (../shared/fixtures) with `memwal ipc-cat`, into OUT_DIR
# (default ./out), printing each entry's rows.
# Usage: scripts/run-main.sh [OUT_DIR]
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
out=${1:-$root/out}
bash "$root/scripts/deps.sh"
cmake -S "$root" -B "$root/build" -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build "$root/build" -j"$(nproc)" --target memwal >/dev/null
bin="$root/build/memwal"
shared=${MW_SHARED_DIR:-$root/../shared}
shard=$(ls -d "$shared"/fixtures/lance12_reference_table.lance/_mem_wal/*/ | head -1)
mkdir -p "$out"
n=0
for f in "$shard"wal/*.arrow; do
  name=$(basename "$f" .arrow)
  "$bin" ipc-cat "$f" > "$out/$name.jsonl"
  n=$((n + 1))
  echo "== $name ($(($(wc -l < "$out/$name.jsonl") - 1)) rows)"
  tail -n +2 "$out/$name.jsonl"
done
echo "decoded $n WAL entries into $out"
