#!/usr/bin/env bash
# Dry run of the ClusterFuzzLite build without Docker or the builder image.
#
# Runs .clusterfuzzlite/build.sh the way the Rust builder image's `compile` step does —
# `bash -eux $SRC/build.sh` from $SRC, with SRC, OUT, WORK, SANITIZER, FUZZING_ENGINE,
# FUZZING_LANGUAGE, ARCHITECTURE and RUSTFLAGS set as that step sets them for a Rust project
# under AddressSanitizer — on this machine's nightly toolchain and cargo-fuzz, over a copy of the
# working tree laid out as the Dockerfile lays it out ($SRC/poolcheck, $SRC/build.sh). Then it
# checks that $OUT holds what ClusterFuzzLite looks for there:
#   - one executable per `cargo fuzz list` target, built with AddressSanitizer;
#   - TARGET_seed_corpus.zip holding every file of fuzz/seeds/TARGET;
#   - TARGET.options ([libfuzzer] section) and the dictionary it names, copied beside it;
# and runs every target over its unzipped seeds with the options of its .options file, from
# $OUT, as a run on ClusterFuzzLite would start (every seed must run without a crash).
#
# Not covered: the builder image itself (its nightly, its libFuzzer linked through
# CUSTOM_LIBFUZZER_PATH against libc++, which this run leaves to libfuzzer-sys's own build),
# the Dockerfile, and the GitHub Actions workflows in .clusterfuzzlite/workflows/.
#
#   .clusterfuzzlite/check-build.sh [DIR]
# DIR (default: a new temporary folder) receives src/, out/ and work/ and is kept for a look
# afterwards; passing the same DIR again reuses its build (fuzz/target under src/poolcheck).
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
dir=${1:-$(mktemp -d /tmp/poolcheck-cflite.XXXXXX)}
mkdir -p "$dir"
dir=$(cd "$dir" && pwd)

fail() {
  echo "check-build: FAILED: $*" >&2
  exit 1
}
for tool in zip unzip nm; do
  command -v "$tool" >/dev/null || fail "$tool is missing (the builder image has it)"
done
cargo +nightly fuzz --version >/dev/null 2>&1 || fail "needs a nightly toolchain with cargo-fuzz"

export SRC=$dir/src OUT=$dir/out WORK=$dir/work
rm -rf "$OUT" "$WORK"
mkdir -p "$SRC/poolcheck" "$OUT" "$WORK"

# The Dockerfile: COPY . $SRC/poolcheck, then build.sh to $SRC. (The files git knows or would
# add, as they are in the working tree; an earlier build under fuzz/target is kept.)
(cd "$repo" && git ls-files -z --cached --others --exclude-standard |
  while IFS= read -r -d '' file; do [ -f "$file" ] && printf '%s\0' "$file"; done |
  tar --null -T - -c) | tar -x -C "$SRC/poolcheck"
cp "$repo/.clusterfuzzlite/build.sh" "$SRC/build.sh"

# The builder's environment for `language: rust` and `sanitizers: [address]`. The image's
# default toolchain is nightly; here it is named. Its CFLAGS (clang's, with
# -fsanitize=fuzzer-no-link) are left out: in the image they reach no C code of this project,
# since libFuzzer comes prebuilt through CUSTOM_LIBFUZZER_PATH, while here libfuzzer-sys
# compiles its own libFuzzer with the system's C++ compiler.
export SANITIZER=address FUZZING_ENGINE=libfuzzer FUZZING_LANGUAGE=rust ARCHITECTURE=x86_64
export RUSTFLAGS="--cfg fuzzing -Zsanitizer=address -Cdebuginfo=1 -Cforce-frame-pointers"
unset CFLAGS CXXFLAGS CUSTOM_LIBFUZZER_PATH CUSTOM_LIBFUZZER_STD_CXX
export RUSTUP_TOOLCHAIN=nightly
echo "== check-build: bash -eux \$SRC/build.sh (SRC=$SRC OUT=$OUT)"
(cd "$SRC" && bash -eux "$SRC/build.sh")

cd "$SRC/poolcheck"
targets=$(cargo fuzz list)
[ -n "$targets" ] || fail "cargo fuzz list names no target"
checked=0
for target in $targets; do
  exe=$OUT/$target
  [ -x "$exe" ] || fail "$exe is missing or not executable"
  asan_symbols=$(nm "$exe" 2>/dev/null | grep -c __asan_report_load || true)
  [ "$asan_symbols" -gt 0 ] || fail "$exe is not built with AddressSanitizer"
  seeds=fuzz/seeds/$target
  corpus=$WORK/corpus-$target
  mkdir -p "$corpus"
  if [ -d "$seeds" ]; then
    zip_file=$OUT/${target}_seed_corpus.zip
    [ -f "$zip_file" ] || fail "$zip_file is missing"
    want=$(find "$seeds" -type f | wc -l)
    have=$(unzip -Z1 "$zip_file" | grep -vc '/$' || true)
    [ "$want" -eq "$have" ] || fail "$zip_file holds $have files, $seeds $want"
    unzip -q -o "$zip_file" -d "$corpus"
  fi
  options=$OUT/$target.options
  [ -f "$options" ] || fail "$options is missing"
  [ "$(head -1 "$options")" = "[libfuzzer]" ] || fail "$options does not start with [libfuzzer]"
  flags=()
  while IFS= read -r line; do
    [[ $line =~ ^([a-z_]+)\ =\ (.+)$ ]] || continue
    key=${BASH_REMATCH[1]} value=${BASH_REMATCH[2]}
    if [ "$key" = dict ]; then
      [ -f "$OUT/$value" ] || fail "$options names the dictionary $value, which is not in \$OUT"
      value=$OUT/$value
    fi
    flags+=("-$key=$value")
  done < <(tail -n +2 "$options")
  echo "== check-build: $target ${flags[*]} over $(find "$corpus" -type f | wc -l) seeds"
  mkdir -p "$WORK/artifacts-$target"
  if ! (cd "$OUT" && "./$target" "${flags[@]}" -runs=0 -artifact_prefix="$WORK/artifacts-$target/" \
    "$corpus" >"$WORK/run-$target.log" 2>&1); then
    tail -30 "$WORK/run-$target.log" >&2
    fail "$target crashed on its seeds (log: $WORK/run-$target.log)"
  fi
  grep -aE 'INFO: seed corpus|INITED' "$WORK/run-$target.log" | tail -2
  checked=$((checked + 1))
done
echo "check-build: $checked targets built into $OUT with seeds, options and dictionaries; each ran its seeds"
