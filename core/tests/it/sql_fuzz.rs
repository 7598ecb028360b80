//! SQL text is outside input: seeded mutations of real queries (fragments of SQL spliced in,
//! tokens cut and repeated) sent as two principals. Nothing may panic, not even inside the
//! engine (a caught panic still fails the test: it is a shape to refuse before it runs), and the
//! audit log verifies at the end. `LIENTHONG_FUZZ_INPUTS` for a longer run.

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use crate::common::{as_, demo, run};

const SEEDS: &[&str] = &[
    "SELECT province_code, count(*) FROM reference.wards GROUP BY province_code ORDER BY 2 DESC LIMIT 5",
    "SELECT w.ward_name, p.province_name FROM reference.wards w JOIN reference.provinces p ON p.province_code = w.province_code",
    "SELECT sex, count(*) AS n FROM population.citizens WHERE current_province_code = '01' GROUP BY sex",
    "WITH t AS (SELECT * FROM reference.provinces) SELECT count(*) FROM t WHERE province_code IN ('01', '79')",
    "SELECT upper(province_name), length(province_code) FROM reference.provinces UNION ALL SELECT 'x', 1",
];

const FRAGMENTS: &[&str] = &[
    " (",
    ")",
    ",",
    " AND ",
    " OR ",
    " NOT ",
    " = ",
    " || ",
    " / 0",
    " CAST(",
    " AS INT)",
    " ORDER BY ",
    " GROUP BY ROLLUP(",
    " OVER (PARTITION BY 1)",
    " FILTER (WHERE true)",
    "(SELECT count(*) FROM population.citizens)",
    " UNION SELECT ",
    " LIMIT -1",
    " OFFSET 99999999999999999999",
    " WHERE ",
    "'",
    "\"",
    "--",
    "/*",
    ";",
    " $1",
    " NULL",
    " array_agg(",
    " string_agg(",
    " generate_series(1, 3)",
    " regexp_replace(province_name, '(', 'x')",
    " 1e400",
    " -9223372036854775808",
    " DATE '2026-02-30'",
    " INTERVAL '1 month'",
    " *",
    " DISTINCT ",
];

fn inputs() -> usize {
    std::env::var("LIENTHONG_FUZZ_INPUTS")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(150)
}

fn mutate(rng: &mut ChaCha8Rng, sql: &str) -> String {
    let mut text = sql.to_owned();
    for _ in 0..rng.random_range(1..3) {
        let mut at = rng.random_range(0..=text.len());
        while !text.is_char_boundary(at) {
            at -= 1;
        }
        match rng.random_range(0..4) {
            0 => {
                let mut end = (at + rng.random_range(1..12)).min(text.len());
                while !text.is_char_boundary(end) {
                    end -= 1;
                }
                text.replace_range(at..end, "");
            }
            _ => text.insert_str(at, FRAGMENTS[rng.random_range(0..FRAGMENTS.len())]),
        }
    }
    text
}

#[tokio::test]
async fn mutated_sql_never_panics_and_the_audit_still_verifies() {
    let (catalog, audit) = demo();
    let mut rng = ChaCha8Rng::seed_from_u64(20_261_203);
    let (mut answered, mut refused) = (0usize, 0usize);
    for principal in ["public", "statistician"] {
        let session = as_(&catalog, principal);
        for _ in 0..inputs() {
            let seed = SEEDS[rng.random_range(0..SEEDS.len())];
            let sql = mutate(&mut rng, seed);
            match run(&session, &sql).await {
                Ok(_) => answered += 1,
                Err(error) => {
                    assert!(
                        !error.contains("could not be run") && !error.contains("panicked"),
                        "{principal}: the engine panicked on: {sql}\n{error}"
                    );
                    refused += 1;
                }
            }
        }
    }
    eprintln!(
        "SQL fuzz: {} inputs, {answered} answered, {refused} refused, 0 panics",
        answered + refused
    );
    assert!(lienthong::audit::verify(&audit).is_ok());
}
