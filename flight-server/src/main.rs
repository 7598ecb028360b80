//! The `lienthong` command line (placeholder).
fn main() {}
