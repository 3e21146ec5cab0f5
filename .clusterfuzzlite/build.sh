#!/bin/bash -eu
# ClusterFuzzLite / OSS-Fuzz build: every cargo-fuzz target of fuzz/, with its checked-in
# seed corpus, dictionary and libFuzzer options (fuzz/flags/TARGET.flags), into $OUT.
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
  # The target's campaign flags (fuzz/flags/TARGET.flags, one `-key=value` per line) as
  # `key = value` lines.
  if [ -f "fuzz/flags/$target.flags" ]; then
    while IFS= read -r flag; do
      if [[ $flag =~ ^-([a-z_]+)=(.+)$ ]]; then
        options="$options"$'\n'"${BASH_REMATCH[1]} = ${BASH_REMATCH[2]}"
      fi
    done <"fuzz/flags/$target.flags"
  fi
  printf '%s\n' "$options" > "$OUT/$target.options"
done
