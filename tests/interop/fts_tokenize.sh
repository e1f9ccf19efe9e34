#!/usr/bin/env bash
# fts_tokenize.sh MEMWAL_BIN PEERS_DIR SHARED_DIR BINARY_DIR - memwal's FTS
# tokenizer (src/index/fts_tokenizer.c) against Lance 12's, token for token
# and position for position: LanceDB 0.39's table.tokenize(text, {column})
# on a table with an FTS index (peers/lancedb_lsm.mjs tokenize) versus
# BINARY_DIR/tests/mw_fts_tokenize, on
#  (a) every line of fts_corpus.txt: Unicode (Greek, Cyrillic, CJK, Indic,
#      Latin with diacritics, ligatures, fractions, digits of other scripts,
#      emoji, invisible separators), tokens around the 40-byte limit
#      (multi-byte ones too, and U+0130 whose lowercase is longer), stop
#      words, stop words that only match once stemmed ("having", "does"),
#      ones that survive stemming ("above" -> "abov"), English suffixes;
#  (b) one line "q<c>q" for every alphanumeric character c of the Latin,
#      IPA, Greek, Cyrillic, Armenian, Georgian, letterlike, number form,
#      enclosed and math alphanumeric blocks: lowercasing + ASCII folding of
#      each character (the generated tables of src/index/fts_unicode_tables.c).
# Missing node or peers is a failure, not a skip.
set -u
. "$(dirname "$0")/common.sh"

need_node
need_peers lancedb_lsm.mjs node_modules/@lancedb/
TOOL=$BDIR/tests/mw_fts_tokenize
[ -x "$TOOL" ] || die "no $TOOL (cmake --build BUILD --target mw_fts_tokenize)"
command -v perl >/dev/null || die "perl not found"
mk_tmp
LSM=$PEERS/lancedb_lsm.mjs

node "$LSM" create "$TMP/db" t unsharded --dim 8 --base 256 --indexes >"$TMP/create.log" 2>&1 \
  || { cat "$TMP/create.log" >&2; die "LanceDB create"; }

cp "$HERE/fts_corpus.txt" "$TMP/corpus.txt"
perl -e '
  use v5.12; binmode STDOUT, ":utf8";
  my @r = ([0xA0,0x24F],[0x250,0x2AF],[0x370,0x3FF],[0x400,0x4FF],[0x530,0x58F],[0x10A0,0x10FF],
           [0x1D00,0x1DBF],[0x1E00,0x1EFF],[0x1F00,0x1FFF],[0x2070,0x218F],[0x2460,0x24FF],
           [0x2C00,0x2C7F],[0xA720,0xA7FF],[0xFB00,0xFB06],[0xFF10,0xFF5A],[0x3300,0x33FF],
           [0x1D400,0x1D4FF],[0x1F100,0x1F1FF]);
  my @t; for my $r (@r) { for my $c ($r->[0] .. $r->[1]) { push @t, "q" . chr($c) . "q" if chr($c) =~ /[\p{Alphabetic}\p{N}]/ } }
  say join(" ", @t);' >>"$TMP/corpus.txt" || die "probe line"

"$TOOL" <"$TMP/corpus.txt" >"$TMP/ours.txt" || die "mw_fts_tokenize"
n=0
while IFS= read -r line; do
  n=$((n + 1))
  # to a file, not a pipe: node's process.exit() may cut piped output
  # longer than 64 KiB
  node "$LSM" tokenize "$TMP/db" t text "$line" >"$TMP/want.json" 2>"$TMP/tok.err" \
    || { cat "$TMP/tok.err" >&2; fail "LanceDB tokenize line $n"; continue; }
  want=$(cat "$TMP/want.json")
  got=$(sed -n "${n}p" "$TMP/ours.txt")
  if [ "$want" = "$got" ]; then
    ok "line $n: $(printf '%s' "$want" | grep -o '"text"' | wc -l) tokens equal"
  else
    fail "line $n: ${line:0:80}"
    printf '  lance: %s\n  ours:  %s\n' "${want:0:2000}" "${got:0:2000}" >&2
  fi
done <"$TMP/corpus.txt"
[ "$n" -ge 30 ] || fail "only $n corpus lines"
[ "$fails" -eq 0 ]
