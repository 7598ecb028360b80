#!/usr/bin/env bash
# The whole lienthong test suite, from a fresh clone: Rust (unit, integration, doc tests) and, once
# the Python package exists, its pytest suite in a local venv. It says what it skipped and why;
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

echo "== Python: local .venv with the test peers (moto, pyarrow, ADBC)"
./scripts/python-env.sh

echo "== Rust: build every target (benches and examples included)"
cargo build --workspace --all-targets --locked

echo "== Rust: tests (unit, integration, doc)"
set +e
cargo test --workspace --locked --no-fail-fast 2>&1 | tee target/rust-tests.log
rust_status=${PIPESTATUS[0]}
set -e

python_status=0
if [ -d bindings/python/tests ]; then
    echo "== Python: tests"
    .venv/bin/python -m pytest bindings/python/tests -q || python_status=$?
else
    echo "== Python: no test suite yet (bindings/python/tests does not exist); nothing to run"
fi

echo
echo "== Summary"
grep -E '^test result:' target/rust-tests.log | awk '{p+=$4; f+=$6; i+=$8} END {printf "Rust: %d passed, %d failed, %d ignored\n", p, f, i}'
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
