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
