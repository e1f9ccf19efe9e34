# common.sh - sourced by the interop tests (tests/interop/*.sh, run as
# `bash SCRIPT MEMWAL_BIN PEERS_DIR SHARED_DIR BINARY_DIR`); not a test
# itself (CMake leaves it out). Sets BIN PEERS SHARED BDIR from the
# arguments and HERE (this folder), brings check/contains/fail/ok/die and
# mk_tmp from tests/cli/common.sh, and adds the preconditions, which FAIL
# the test when unmet (never skip):
#   need_node; need_peers PATH... (under PEERS_DIR; a trailing / = a folder);
#   need_s3 TAG: curl and the S3 settings, and sets base (a fresh
#     MW_TEST_S3_URI/TAG-... prefix), bucket and prefix;
# js_tmp FILE...: mk_tmp, then $TMP/js with the peers' node_modules and the
#   given scripts (our .mjs import apache-arrow / lancedb from there);
# shard_of DB_PREFIX: the shard folder Lance created under an S3 table
#   (a signed ListObjectsV2 with curl);
# lance_ids TABLE_URI: LanceDB's read of the table as "sorted ids
#   query_rows" (the read stays in $TMP/read.json; a failed read gives
#   "lancedb_read failed", which no check expects).
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
. "$HERE/../cli/common.sh"
USAGE="usage: $(basename "$0") MEMWAL_BIN PEERS_DIR SHARED_DIR BINARY_DIR"
BIN=${1:?$USAGE}; PEERS=${2:?$USAGE}; SHARED=${3:?$USAGE}; BDIR=${4:?$USAGE}

need_node() { command -v node >/dev/null || die "node not found"; }
need_peers() {
  local p
  for p in "$@"; do
    case $p in
      */) [ -d "$PEERS/$p" ] ;;
      *) [ -f "$PEERS/$p" ] ;;
    esac || die "peers not installed in $PEERS (bash SHARED_DIR/peers/install.sh $PEERS)"
  done
}
need_s3() { # TAG
  command -v curl >/dev/null || die "curl not found"
  case "${MW_TEST_S3_URI:-}" in s3://*) ;; *) die "MW_TEST_S3_URI (s3://bucket/prefix) is not set";; esac
  [ -n "${AWS_ENDPOINT:-}" ] && [ -n "${AWS_ACCESS_KEY_ID:-}" ] && [ -n "${AWS_SECRET_ACCESS_KEY:-}" ] \
    || die "AWS_ENDPOINT / AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY not set"
  base=${MW_TEST_S3_URI%/}/$1-$$-$RANDOM
  local rest=${base#s3://}
  bucket=${rest%%/*}
  prefix=${rest#*/}
}
js_tmp() { # FILE...
  mk_tmp
  mkdir -p "$TMP/js"
  ln -s "$PEERS/node_modules" "$TMP/js/node_modules"
  cp "$@" "$TMP/js/"
}
shard_of() { # DB_PREFIX
  local p="$1/t.lance/_mem_wal/"
  curl -s --aws-sigv4 "aws:amz:${AWS_REGION:-us-east-1}:s3" --user "$AWS_ACCESS_KEY_ID:$AWS_SECRET_ACCESS_KEY" \
    -H "x-amz-content-sha256: UNSIGNED-PAYLOAD" "$AWS_ENDPOINT/$bucket?list-type=2&prefix=${p//\//%2F}" \
    | grep -o '<Key>[^<]*</Key>' | sed "s|<Key>$p||; s|/.*||" | sort -u
}
lance_ids() { # TABLE_URI -> "sorted ids query_rows"
  node "$PEERS/lancedb_read.mjs" "$1" --max 100 >"$TMP/read.json" 2>"$TMP/err" \
    || { cat "$TMP/err" >&2; echo "lancedb_read failed"; return; }
  node -e '
    const r = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8"));
    console.log(r.rows.map((x) => Number(x.id)).sort((a, b) => a - b).join(","), r.query_rows);
  ' "$TMP/read.json"
}
