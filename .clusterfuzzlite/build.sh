#!/bin/bash -eu
# ClusterFuzzLite / OSS-Fuzz build: every cargo-fuzz target of fuzz/, with its checked-in
# seed corpus, dictionary and libFuzzer options, into $OUT.
#
# The builder image wraps cargo so that `cargo fuzz build` gets the sanitizer and coverage
# flags of the job; -O with --debug-assertions keeps overflow checks, which the model's
# capacity arithmetic relies on being caught.
cd "$SRC/poolcheck"
cargo fuzz build -O --debug-assertions

release=fuzz/target/x86_64-unknown-linux-gnu/release
for target in $(cargo fuzz list); do
  cp "$release/$target" "$OUT/"
  if [ -d "fuzz/seeds/$target" ]; then
    (cd "fuzz/seeds/$target" && zip -q -r "$OUT/${target}_seed_corpus.zip" .)
  fi
  options="[libfuzzer]"
  if [ -f "fuzz/dicts/$target.dict" ]; then
    cp "fuzz/dicts/$target.dict" "$OUT/$target.dict"
    options="$options"$'\n'"dict = $target.dict"
  fi
  if [ "$target" = ops ]; then
    # 32 operations decode from far fewer bytes; longer inputs only slow the target down.
    options="$options"$'\n'"max_len = 1024"
  fi
  printf '%s\n' "$options" > "$OUT/$target.options"
done
