# Conveniences; every recipe runs the same commands the README and .ci/run use.

# Run the testbed.
demo:
    cargo run --release -p testbed

# Run every test.
test:
    cargo test --workspace

# Everything CI checks.
ci:
    bash .ci/run

# Regenerate the fixture PKI from fixtures/world.toml (keys kept, unchanged certificates kept
# byte for byte; new entries get new keys; commit the result).
fixtures:
    cargo run -p pkigen

# Review pending insta snapshots (needs `cargo install cargo-insta`).
snap-review:
    cargo insta review

# Micro-benchmarks (criterion) of the STIR and protocol hot paths.
bench-micro:
    cargo bench -p stir -p proto

# The testbed's own benchmarks (see BENCHMARKS.md); needs `apt-get install secsipidx` for the peer.
bench:
    cargo run --release -p testbed -- bench setup --calls 20
    cargo run --release -p testbed -- bench ms --peer secsipidx
    cargo run --release -p testbed -- bench scaling --duration 5
    cargo run --release -p testbed -- bench start

# Fuzz the parsers and verifiers with cargo-fuzz (fuzz/README.md): every target for `secs`
# seconds each, one after the other (`just fuzz all 60`), or one target (`just fuzz sdp 300`).
# Each run starts from fuzz/corpus/<target> with the committed seeds (fuzz/seeds) copied in; a
# crash ends that target's run and lands in fuzz/artifacts/<target>. Needs `cargo install
# cargo-fuzz`; runs on the stable toolchain (RUSTC_BOOTSTRAP=1, no sanitizer). Not part of
# `test` or `ci`.
fuzz target="all" secs="600":
    #!/usr/bin/env bash
    set -uo pipefail
    cd fuzz
    export RUSTC_BOOTSTRAP=1
    if [ "{{target}}" = all ]; then targets=$(cargo fuzz list); else targets="{{target}}"; fi
    cargo fuzz build --sanitizer none || exit 1
    failed=""
    for t in $targets; do
        mkdir -p "corpus/$t"
        for seed in "seeds/$t"/*; do
            [ -e "corpus/$t/${seed##*/}" ] || cp "$seed" "corpus/$t/"
        done
        echo "== fuzz $t for {{secs}} s"
        cargo fuzz run --sanitizer none "$t" "corpus/$t" -- \
            -max_total_time={{secs}} -print_final_stats=1 || failed="$failed $t"
    done
    if [ -n "$failed" ]; then echo "crashed:$failed (see fuzz/artifacts)"; exit 1; fi
