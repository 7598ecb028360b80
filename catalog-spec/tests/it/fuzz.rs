//! Catalog files are outside input: mutated example catalogs (random bytes, and YAML/JSON
//! structure an attacker or a clumsy editor would write) never make the loader panic, and every
//! refusal names the file. Seeded, so a failure repeats; `LIENTHONG_FUZZ_INPUTS` for a longer run.

use std::path::Path;

use lienthong_spec::parse_str;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

/// Fragments that mean something to a YAML or JSON parser, or to the catalog's own fields.
const FRAGMENTS: &[&str] = &[
    ": ",
    "- ",
    "{",
    "}",
    "[",
    "]",
    ",",
    "\"",
    "'",
    "&anchor ",
    "*anchor",
    "<<: *anchor",
    "!!binary ",
    "!!str ",
    "~",
    "null",
    "---\n",
    "...\n",
    "\t",
    "\n  ",
    "#",
    "? ",
    "|\n",
    ">\n",
    "99999999999999999999999999",
    "-1",
    "1e400",
    "NaN",
    "0x10",
    "2026-13-45",
    "principal.",
    "principal.ward",
    "(SELECT 1)",
    "'; DROP TABLE x; --",
    "\u{0}",
    "\u{feff}",
    "Nguyễn 🌾",
    "*",
    "population.citizens",
    "keep_last: 0",
    "aggregate_only: { min_group_size: 1 }",
];

fn inputs() -> usize {
    std::env::var("LIENTHONG_FUZZ_INPUTS")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(1_500)
}

/// One mutation of `text`: bytes flipped, cut or repeated, or fragments inserted.
fn mutate(rng: &mut ChaCha8Rng, text: &str) -> String {
    let mut bytes = text.as_bytes().to_vec();
    for _ in 0..rng.random_range(1..6) {
        if bytes.is_empty() {
            break;
        }
        let at = rng.random_range(0..bytes.len());
        match rng.random_range(0..6) {
            0 => bytes[at] = rng.random(),
            1 => {
                let end = (at + rng.random_range(1..64)).min(bytes.len());
                bytes.drain(at..end);
            }
            2 => {
                let end = (at + rng.random_range(1..64)).min(bytes.len());
                let copy = bytes[at..end].to_vec();
                bytes.splice(at..at, copy);
            }
            3 => {
                // Deep nesting, which a recursive reader could overflow on.
                let depth = rng.random_range(100..20_000);
                let open: String = "[".repeat(depth);
                bytes.splice(at..at, open.into_bytes());
            }
            _ => {
                let fragment = FRAGMENTS[rng.random_range(0..FRAGMENTS.len())];
                bytes.splice(at..at, fragment.bytes());
            }
        }
    }
    String::from_utf8_lossy(&bytes).into_owned()
}

#[test]
fn mutated_catalogs_never_panic_and_every_refusal_names_the_file() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples");
    let mut rng = ChaCha8Rng::seed_from_u64(20_261_202);
    let (mut refused, mut accepted) = (0usize, 0usize);
    for (example, origin) in [("quang-ninh.yaml", "fuzz.yaml"), ("minimal.json", "fuzz.json")] {
        let text = std::fs::read_to_string(dir.join(example)).expect("example");
        for _ in 0..inputs() {
            let input = mutate(&mut rng, &text);
            let loaded = std::panic::catch_unwind(|| parse_str(&input, origin));
            match loaded {
                Err(_) => panic!("the loader panicked on:\n{input}"),
                Ok(Ok(_)) => accepted += 1,
                Ok(Err(error)) => {
                    let message = error.to_string();
                    assert!(message.contains(origin), "a refusal without the file's name: {message}");
                    refused += 1;
                }
            }
        }
    }
    eprintln!(
        "catalog fuzz: {} inputs, {refused} refused, {accepted} accepted, 0 panics",
        refused + accepted
    );
    assert!(refused > 0);
}
