//! Benchmarks of lienthong; see `benches/README.md`. The harnesses live in `benches/benches/`.
