# Developer conveniences. The README's two commands need nothing but cargo
# and bash; `just` is optional (`cargo install just` if you want it).

# Run every component in one process on the embedded default.
dev *args:
    cargo run -- dev {{args}}

# Every check and test, bringing up PostgreSQL and Kafka when needed (what CI runs).
test:
    scripts/test.sh

# Only the Rust tests, against infrastructure that is already up (the test
# tools are provisioned first, where the tests look for them).
test-rust *args: tools
    eval "$(scripts/infra/up.sh)" && cargo test --workspace {{args}}

# Provision the real clients tests drive: the Python tools' virtualenv and grpcurl.
tools:
    scripts/tools/python.sh && scripts/tools/grpcurl.sh

# Bring up PostgreSQL and Kafka on loopback (idempotent).
infra-up:
    scripts/infra/up.sh

# Stop PostgreSQL and Kafka.
infra-down:
    scripts/infra/down.sh

# PostgreSQL alone: up, down, status, url.
postgres cmd="up":
    scripts/infra/postgres.sh {{cmd}}

# Kafka alone: up, down, status, url.
kafka cmd="up":
    scripts/infra/kafka.sh {{cmd}}

# The chart: lint, kubeconform, every example through gongkai config check,
# the NOTES commands against a running gongkai (builds helm and kubeconform
# with Go when missing; needs the debug build).
helm:
    scripts/helm-check.sh

# The OCI image from Debian's packages and a release build, no registry needed
# (target/image/gongkai.oci.tar; `podman load -i` it). image/Containerfile
# builds the same image where a registry is reachable.
image:
    image/build.sh

# Build the image around the debug binary and run it (what the tests do).
image-check:
    cargo build --bin gongkai && scripts/image-check.sh target/debug/gongkai

# Format the code.
fmt:
    cargo fmt --all

# Clippy as CI runs it.
lint:
    cargo clippy --workspace --all-targets -- -D warnings

# Every benchmark next to the raw limit of the same infrastructure, one table
# (about 30 minutes; sizes via BENCH_* variables, see scripts/bench/run.sh);
# results in target/bench/latest.json. `BENCH_ONLY="pg-commit site"` runs some.
bench:
    scripts/bench/run.sh

# Property-based fuzzing of validation → decide → fold → render → export:
# `cases` per test function (two run side by side), in release; prints the
# count and the time. CI runs 2,000 per function in debug.
fuzz cases="500000":
    GONGKAI_FUZZ_CASES={{cases}} cargo test --release -p gongkai --test fuzz -- --nocapture

# Drive load at a running gongkai: `just load <token> --count 10000`.
load token *args:
    cargo run --release -- load --token {{token}} {{args}}
