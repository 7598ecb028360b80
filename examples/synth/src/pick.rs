//! Seeded random streams and the small sampling helpers the generators share.
//!
//! Every stream is a ChaCha8 generator seeded from the user's seed, a stream name and an index
//! (a chunk, a ward), so that a piece of data depends only on those three and never on thread
//! scheduling: the same seed gives the same bytes on any machine.

use chrono::{Datelike, NaiveDate};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use sha2::{Digest, Sha256};

/// The random generator of every stream.
pub(crate) type Stream = ChaCha8Rng;

/// The stream named `name`, number `index`, of `seed`.
pub(crate) fn stream(seed: u64, name: &str, index: u64) -> Stream {
    let digest = Sha256::new()
        .chain_update(seed.to_le_bytes())
        .chain_update(name.as_bytes())
        .chain_update(index.to_le_bytes())
        .finalize();
    let mut key = [0u8; 32];
    key.copy_from_slice(&digest);
    ChaCha8Rng::from_seed(key)
}

/// A stateless 64-bit mix of `seed` and `value` (SplitMix64 finaliser), for jitter that must not
/// depend on the order values are visited in.
pub(crate) fn mix(seed: u64, value: u64) -> u64 {
    let mut z = seed ^ value.wrapping_mul(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// Items with integer weights, sampled by binary search over cumulative weights.
pub(crate) struct Weighted<T> {
    items: Vec<T>,
    cumulative: Vec<f64>,
}

impl<T: Copy> Weighted<T> {
    /// Items and their weights; weights must be positive.
    pub(crate) fn new(pairs: impl IntoIterator<Item = (T, f64)>) -> Self {
        let mut items = Vec::new();
        let mut cumulative = Vec::new();
        let mut total = 0.0;
        for (item, weight) in pairs {
            total += weight;
            items.push(item);
            cumulative.push(total);
        }
        Self { items, cumulative }
    }

    /// One item at random.
    pub(crate) fn pick(&self, rng: &mut Stream) -> T {
        let total = self.cumulative.last().copied().unwrap_or(0.0);
        let x = rng.random::<f64>() * total;
        let i = self.cumulative.partition_point(|&c| c <= x).min(self.items.len() - 1);
        self.items[i]
    }
}

/// One of `items`, uniformly.
pub(crate) fn one_of<'a, T>(rng: &mut Stream, items: &'a [T]) -> &'a T {
    &items[rng.random_range(0..items.len())]
}

/// Days since 1970-01-01 (Arrow `Date32`).
pub(crate) type Day = i32;

/// The day the data describes: everyone's age and status are as of this date.
pub(crate) const AS_OF: Day = days(2026, 7, 1);

/// Days since the epoch of a calendar date known to be valid.
pub(crate) const fn days(year: i32, month: u32, day: u32) -> Day {
    // Days-from-civil (Howard Hinnant), usable in constants.
    let y = if month <= 2 { year - 1 } else { year };
    let era = if y >= 0 { y } else { y - 399 } / 400;
    let yoe = y - era * 400;
    let m = month as i32;
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + day as i32 - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// The calendar date of a day number.
pub(crate) fn date(day: Day) -> NaiveDate {
    NaiveDate::from_num_days_from_ce_opt(day + 719_163).unwrap_or(NaiveDate::MIN)
}

/// The year of a day number.
pub(crate) fn year(day: Day) -> i32 {
    date(day).year()
}

/// The day `years` whole years after `day` (29 February becomes 28 February).
pub(crate) fn add_years(day: Day, years: i32) -> Day {
    let d = date(day);
    let target = NaiveDate::from_ymd_opt(d.year() + years, d.month(), d.day())
        .or_else(|| NaiveDate::from_ymd_opt(d.year() + years, d.month(), 28))
        .unwrap_or(d);
    days(target.year(), target.month(), target.day())
}

/// Age in whole years on `on` of someone born on `birth`.
pub(crate) fn age(birth: Day, on: Day) -> i32 {
    let (b, o) = (date(birth), date(on));
    let mut age = o.year() - b.year();
    if (o.month(), o.day()) < (b.month(), b.day()) {
        age -= 1;
    }
    age
}

/// A day uniformly in `from..to` (or `from` when the range is empty).
pub(crate) fn day_between(rng: &mut Stream, from: Day, to: Day) -> Day {
    if to <= from { from } else { rng.random_range(from..to) }
}

/// Someone born so as to be `age` years old (whole years) on [`AS_OF`].
pub(crate) fn birth_for_age(rng: &mut Stream, age: i32) -> Day {
    let latest = add_years(AS_OF, -age);
    let earliest = add_years(AS_OF, -age - 1) + 1;
    day_between(rng, earliest, latest + 1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn day_numbers_match_chrono() {
        for (y, m, d) in [(1970, 1, 1), (1926, 3, 1), (2000, 2, 29), (2026, 7, 1), (1899, 12, 31)] {
            let expected = NaiveDate::from_ymd_opt(y, m, d).map(|n| n.num_days_from_ce() - 719_163);
            assert_eq!(Some(days(y, m, d)), expected, "{y}-{m}-{d}");
            assert_eq!(date(days(y, m, d)), NaiveDate::from_ymd_opt(y, m, d).unwrap());
        }
    }

    #[test]
    fn ages_are_whole_years() {
        let mut rng = stream(1, "t", 0);
        for a in [0, 1, 17, 18, 64, 99] {
            for _ in 0..50 {
                assert_eq!(age(birth_for_age(&mut rng, a), AS_OF), a);
            }
        }
    }

    #[test]
    fn streams_differ_by_name_and_index() {
        let a: u64 = stream(7, "x", 0).random();
        assert_eq!(a, stream(7, "x", 0).random::<u64>());
        assert_ne!(a, stream(7, "x", 1).random::<u64>());
        assert_ne!(a, stream(7, "y", 0).random::<u64>());
    }
}
