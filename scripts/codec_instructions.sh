#!/bin/sh
# Instructions per decode for BENCHMARKS.md ("Embedded-instance decoding"): callgrind on
# examples/codec_instructions.rs at N = 21 and N = 1, the difference over 20, for quick-xml's
# raw event iteration and the typed decode, over both CIM-XML inputs.
# Run from the repository root; CARGO_TARGET_DIR is honoured (default: target).
set -eu
target=${CARGO_TARGET_DIR:-target}
cargo build --quiet --release --example codec_instructions
driver=$target/release/examples/codec_instructions
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
count() { # kind file n
    valgrind --tool=callgrind --callgrind-out-file="$out/cg" "$driver" "$1" "$2" "$3" \
        2>&1 >/dev/null | sed -n 's/.*Collected : *\([0-9]*\).*/\1/p'
}
printf '%-22s %12s %12s %8s\n' input raw typed typed/raw
for file in tests/data/pywbem/rasd_client_1k.xml tests/data/pywbem/rasd_large.xml; do
    raw=$(( ($(count raw "$file" 21) - $(count raw "$file" 1)) / 20 ))
    typed=$(( ($(count typed "$file" 21) - $(count typed "$file" 1)) / 20 ))
    printf '%-22s %12d %12d %8s\n' "$(basename "$file")" "$raw" "$typed" \
        "$(awk -v t="$typed" -v r="$raw" 'BEGIN { printf "%.3fx", t / r }')"
done
