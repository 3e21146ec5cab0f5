#!/bin/bash -eu
# ClusterFuzzLite / OSS-Fuzz build: every cargo-fuzz target of fuzz/, with its checked-in
# seed corpus, dictionary and libFuzzer options, into $OUT.
#
# The builder image wraps cargo so that `cargo fuzz build` gets the sanitizer and coverage
# flags of the job. Overflow checks, which the model's capacity arithmetic relies on being
# caught, are on in every build (fuzz/Cargo.toml). The targets are built as the README
# documents: `ops` with -O and --no-trace-compares (BENCHMARKS.md: each execution about twice
# as cheap, the zoo found in about as many executions), the others with -O and
# --debug-assertions. The flags differ, so `ops` gets a target folder of its own.
cd "$SRC/poolcheck"
cargo fuzz build -O --debug-assertions
cargo fuzz build -O --no-trace-compares --target-dir fuzz/target-ops ops

release=fuzz/target/x86_64-unknown-linux-gnu/release
for target in $(cargo fuzz list); do
  if [ "$target" = ops ]; then
    cp "fuzz/target-ops/x86_64-unknown-linux-gnu/release/$target" "$OUT/"
  else
    cp "$release/$target" "$OUT/"
  fi
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
    # Edge coverage without hit-count buckets: the zoo is found in fewer executions, each
    # cheaper, in the -s none build (README, BENCHMARKS.md; not measured under ASan).
    options="$options"$'\n'"use_counters = 0"
  fi
  printf '%s\n' "$options" > "$OUT/$target.options"
done
