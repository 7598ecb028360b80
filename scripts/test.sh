#!/usr/bin/env bash
# The whole lienthong test suite, from a fresh clone: Rust (unit, integration, doc tests) and the
# pytest suites (Flight SQL clients; the Python package) in a local venv. It says what it skipped and why;
# under CI=true nothing may be skipped (a missing prerequisite fails the run instead).
set -euo pipefail
cd "$(dirname "$0")/.."

skipped=()
skip() { # reason
    if [ "${CI:-}" = "true" ]; then
        echo "test.sh: cannot skip under CI=true: $1" >&2
        exit 1
    fi
    skipped+=("$1")
}

mkdir -p target
echo "== Python: local .venv with the test peers (moto, pyarrow, ADBC), beside the Rust build"
./scripts/python-env.sh > target/python-env.log 2>&1 &
python_env=$!

echo "== Rust: build and lint every target (benches and examples included)"
# Clippy runs as the compiler of the workspace's own crates (what `cargo clippy` does, but in the
# same build as the tests): dependencies are compiled once, and a lint warning fails the build.
RUSTC_WORKSPACE_WRAPPER="$(command -v clippy-driver)" || {
    echo "test.sh: clippy-driver not found (rustup component add clippy)" >&2
    exit 1
}
export RUSTC_WORKSPACE_WRAPPER
export CLIPPY_ARGS="-D__CLIPPY_HACKERY__warnings__CLIPPY_HACKERY__"
cargo build --workspace --all-targets --locked

if ! wait "$python_env"; then
    cat target/python-env.log >&2
    echo "test.sh: the Python environment could not be set up" >&2
    exit 1
fi
cat target/python-env.log

echo "== Python: build the lienthong package (bindings/python) and install it into .venv"
# The same `pip install ./bindings/python` a user runs, in the dev profile of the build above
# (a user's install builds release). No build isolation: maturin comes from the venv.
PATH="$PWD/.venv/bin:$PATH" MATURIN_PEP517_ARGS="--profile dev --locked" .venv/bin/python -m pip install --quiet --disable-pip-version-check \
    --no-build-isolation ./bindings/python

echo "== Rust: tests (unit, integration, doc)"
set +e
cargo test --workspace --locked --no-fail-fast 2>&1 | tee target/rust-tests.log
rust_status=${PIPESTATUS[0]}
set -e

# The real Flight SQL clients (ADBC, pyarrow.flight) against `lienthong serve`, and the Python
# package's own tests (local and remote sessions, the example notebook).
python_status=0
suites=(flight-server/tests/python bindings/python/tests)
: > target/python-tests.log
for suite in "${suites[@]}"; do
    echo "== Python: $suite"
    set +e
    .venv/bin/python -m pytest "$suite" -q -p no:cacheprovider 2>&1 | tee -a target/python-tests.log
    status=${PIPESTATUS[0]}
    set -e
    [ "$status" -ne 0 ] && python_status=$status
done

echo
echo "== Summary"
grep -E '^test result:' target/rust-tests.log | awk '{p+=$4; f+=$6; i+=$8} END {printf "Rust: %d passed, %d failed, %d ignored\n", p, f, i}'
grep -E '^[0-9]+ (passed|failed)|^=+ .*(passed|failed)' target/python-tests.log | sed 's/^/Python: /' || true
if [ ${#skipped[@]} -gt 0 ]; then
    echo "Skipped:"
    printf '  - %s\n' "${skipped[@]}"
else
    echo "Skipped: nothing"
fi
if [ "$rust_status" -ne 0 ] || [ "$python_status" -ne 0 ]; then
    echo "FAILED (rust: $rust_status, python: $python_status)"
    exit 1
fi
echo "OK"
