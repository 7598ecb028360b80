//! Who lives where: households and their members, generated in chunks of [`CHUNK`] people, and
//! the citizen IDs assigned to them.
//!
//! A chunk depends only on the seed and its number, so chunks are built in parallel. Families
//! never cross a chunk, so parents, spouses and households are chunk-local indexes here and become
//! citizen IDs once every chunk is known (the last six digits of an ID are unique per province,
//! century/sex and birth year across all chunks).

use rand::Rng;
use rayon::prelude::*;

use crate::pick::{self, AS_OF, Day, Stream, Weighted, add_years, age, birth_for_age, day_between, days, one_of};
use crate::reference::Reference;
use crate::{Error, Progress};

/// People per chunk.
pub(crate) const CHUNK: usize = 65_536;

/// A member's relationship to the head of the household.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) enum Relation {
    Head,
    Spouse,
    Child,
    Parent,
    Grandchild,
    Other,
}

impl Relation {
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Self::Head => "head",
            Self::Spouse => "spouse",
            Self::Child => "child",
            Self::Parent => "parent",
            Self::Grandchild => "grandchild",
            Self::Other => "other",
        }
    }
}

/// Marital status.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) enum Marital {
    Single,
    Married,
    Divorced,
    Widowed,
}

impl Marital {
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Self::Single => "single",
            Self::Married => "married",
            Self::Divorced => "divorced",
            Self::Widowed => "widowed",
        }
    }
}

/// One person, without the details (names, contacts) that only the output needs.
#[derive(Clone, Debug)]
pub(crate) struct Person {
    pub birth: Day,
    pub death: Option<Day>,
    pub female: bool,
    /// Index into `Reference::pre2025`.
    pub birth_province: u8,
    /// Index into `Reference::wards`.
    pub permanent_ward: u16,
    pub current_ward: u16,
    /// Chunk-local household index.
    pub household: u32,
    pub relation: Relation,
    pub marital: Marital,
    /// Chunk-local indexes of relatives.
    pub father: Option<u32>,
    pub mother: Option<u32>,
    pub spouse: Option<u32>,
}

impl Person {
    /// Alive on [`AS_OF`].
    pub(crate) fn living(&self) -> bool {
        self.death.is_none()
    }

    /// The century/sex digit of the citizen ID (domain.md §2).
    fn century_sex(&self) -> usize {
        let base = if pick::year(self.birth) >= 2000 { 2 } else { 0 };
        base + usize::from(self.female)
    }
}

/// One household: its head (chunk-local), ward, size and registration date.
#[derive(Clone, Debug)]
pub(crate) struct Household {
    pub head: u32,
    pub ward: u16,
    pub members: u32,
    pub registered: Day,
}

/// The people and households of one chunk.
pub(crate) struct Chunk {
    pub people: Vec<Person>,
    pub households: Vec<Household>,
    /// Global index of the first person.
    pub first_person: usize,
    /// Global index of the first household (set once all chunks exist).
    pub first_household: usize,
}

/// Builds every chunk for `citizens` people.
pub(crate) fn generate(seed: u64, r: &Reference, citizens: usize, progress: &dyn Progress) -> Vec<Chunk> {
    let chunks = citizens.div_ceil(CHUNK);
    let mut out: Vec<Chunk> = (0..chunks)
        .into_par_iter()
        .map(|c| {
            let first = c * CHUNK;
            let count = CHUNK.min(citizens - first);
            let mut builder = Builder {
                rng: pick::stream(seed, "people", c as u64),
                r,
                chunk: Chunk::new(first),
            };
            while builder.chunk.people.len() < count {
                builder.household(count - builder.chunk.people.len());
            }
            progress.advance(count as u64);
            builder.chunk
        })
        .collect();
    let mut next = 0;
    for chunk in &mut out {
        chunk.first_household = next;
        next += chunk.households.len();
    }
    out
}

impl Chunk {
    fn new(first_person: usize) -> Self {
        Self {
            people: Vec::new(),
            households: Vec::new(),
            first_person,
            first_household: 0,
        }
    }
}

#[derive(Clone, Copy)]
enum Kind {
    Single,
    Couple,
    Family,
    ThreeGenerations,
    SingleParent,
    Siblings,
}

struct Builder<'a> {
    rng: Stream,
    r: &'a Reference,
    chunk: Chunk,
}

impl Builder<'_> {
    /// Adds one household of at most `room` people.
    fn household(&mut self, room: usize) {
        let kinds = Weighted::new([
            (Kind::Single, 12.0),
            (Kind::Couple, 10.0),
            (Kind::Family, 50.0),
            (Kind::ThreeGenerations, 15.0),
            (Kind::SingleParent, 8.0),
            (Kind::Siblings, 5.0),
        ]);
        let children = Weighted::new([(1usize, 35.0), (2, 45.0), (3, 20.0)]);
        let mut kind = kinds.pick(&mut self.rng);
        let kids = children.pick(&mut self.rng);
        let elders = self.rng.random_range(1..=2usize);
        let size = match kind {
            Kind::Single => 1,
            Kind::Couple => 2,
            Kind::Family => 2 + kids,
            Kind::ThreeGenerations => 2 + kids + elders,
            Kind::SingleParent => 1 + kids.min(2),
            Kind::Siblings => 2,
        };
        if size > room {
            kind = Kind::Single;
        }
        let ward = self.r.random_ward(&mut self.rng) as u16;
        let household = self.chunk.households.len() as u32;
        let start = self.chunk.people.len();
        let head = match kind {
            Kind::Single => self.single(household, ward),
            Kind::Couple => {
                let husband_age = self.rng.random_range(22..=80);
                self.couple(household, ward, husband_age, None, 0.8).0
            }
            Kind::Family => {
                let mother_age = self.rng.random_range(24..=55);
                let (head, husband, wife) = self.couple(household, ward, mother_age + 3, None, 0.85);
                self.children(household, ward, husband, wife, kids, Relation::Child);
                head
            }
            Kind::ThreeGenerations => self.three_generations(household, ward, kids, elders),
            Kind::SingleParent => self.single_parent(household, ward, kids.min(2)),
            Kind::Siblings => self.siblings(household, ward),
        };
        let members = (self.chunk.people.len() - start) as u32;
        self.deaths(start);
        let head_birth = self.chunk.people[head as usize].birth;
        let registered = day_between(&mut self.rng, add_years(head_birth, 18).max(days(2000, 1, 1)), AS_OF);
        self.chunk.households.push(Household {
            head,
            ward,
            members,
            registered,
        });
    }

    /// A pre-2025 province of birth registration: mostly one that formed the ward's province.
    fn birth_province(&mut self, ward: u16) -> u8 {
        let province = &self.r.provinces[self.r.wards[ward as usize].province];
        let index = if self.rng.random_bool(0.8) {
            *one_of(&mut self.rng, &province.pre2025)
        } else {
            self.rng.random_range(0..self.r.pre2025.len())
        };
        index as u8
    }

    fn push(&mut self, household: u32, ward: u16, age: i32, female: bool, relation: Relation) -> u32 {
        let birth = birth_for_age(&mut self.rng, age.clamp(0, 100));
        let birth_province = self.birth_province(ward);
        let current_ward = if (18..=40).contains(&age) && self.rng.random_bool(0.07) {
            self.r.random_ward(&mut self.rng) as u16
        } else {
            ward
        };
        let index = self.chunk.people.len() as u32;
        self.chunk.people.push(Person {
            birth,
            death: None,
            female,
            birth_province,
            permanent_ward: ward,
            current_ward,
            household,
            relation,
            marital: Marital::Single,
            father: None,
            mother: None,
            spouse: None,
        });
        index
    }

    fn person(&mut self, i: u32) -> &mut Person {
        &mut self.chunk.people[i as usize]
    }

    fn marry(&mut self, a: u32, b: u32) {
        self.person(a).spouse = Some(b);
        self.person(a).marital = Marital::Married;
        self.person(b).spouse = Some(a);
        self.person(b).marital = Marital::Married;
    }

    fn single(&mut self, household: u32, ward: u16) -> u32 {
        let age = self.rng.random_range(18..=85);
        let female = self.rng.random_bool(0.5);
        let head = self.push(household, ward, age, female, Relation::Head);
        let marital = if age < 30 || self.rng.random_bool(0.4) {
            Marital::Single
        } else if age > 55 && self.rng.random_bool(0.6) {
            Marital::Widowed
        } else {
            Marital::Divorced
        };
        self.person(head).marital = marital;
        head
    }

    /// A married couple (husband about `husband_age`); returns (head, husband, wife). The husband
    /// heads the household with probability `husband_heads`; `elder_head` overrides both roles.
    fn couple(
        &mut self,
        household: u32,
        ward: u16,
        husband_age: i32,
        elder_head: Option<u32>,
        husband_heads: f64,
    ) -> (u32, u32, u32) {
        let husband_age = husband_age.clamp(20, 95);
        let wife_age = (husband_age - self.rng.random_range(-2..=6)).clamp(18, 95);
        let husband_is_head = elder_head.is_none() && self.rng.random_bool(husband_heads);
        let wife_is_head = elder_head.is_none() && !husband_is_head;
        let (rh, rw) = match elder_head {
            Some(_) => (Relation::Child, Relation::Other),
            None if husband_is_head => (Relation::Head, Relation::Spouse),
            None => (Relation::Spouse, Relation::Head),
        };
        let husband = self.push(household, ward, husband_age, false, rh);
        let wife = self.push(household, ward, wife_age, true, rw);
        self.marry(husband, wife);
        let head = if wife_is_head { wife } else { husband };
        (head, husband, wife)
    }

    /// `n` children of `father` and `mother`, born when the mother was 19 to 42.
    fn children(&mut self, household: u32, ward: u16, father: u32, mother: u32, n: usize, relation: Relation) {
        let mother_age = age(self.chunk.people[mother as usize].birth, AS_OF);
        for _ in 0..n {
            // Born when the mother was 19 to 42; children over 30 rarely still live with parents.
            let youngest = (mother_age - 42).max(0);
            let oldest = (mother_age - 19).clamp(0, 30).max(youngest);
            let child_age = self.rng.random_range(youngest..=oldest);
            let female = self.rng.random_bool(0.49);
            let child = self.push(household, ward, child_age, female, relation);
            self.person(child).father = Some(father);
            self.person(child).mother = Some(mother);
        }
    }

    fn three_generations(&mut self, household: u32, ward: u16, kids: usize, elders: usize) -> u32 {
        let elder_heads = self.rng.random_bool(0.5);
        let son_age = self.rng.random_range(25..=50);
        let elder_age = (son_age + self.rng.random_range(22..=35)).min(99);
        // The elders: a couple or a widowed parent.
        let (grandfather, grandmother) = if elders == 2 {
            let (rh, rw) = if elder_heads {
                (Relation::Head, Relation::Spouse)
            } else {
                (Relation::Parent, Relation::Parent)
            };
            let gf = self.push(household, ward, elder_age, false, rh);
            let gap = self.rng.random_range(0..=5);
            let gm = self.push(household, ward, (elder_age - gap).max(son_age + 19), true, rw);
            self.marry(gf, gm);
            (Some(gf), Some(gm))
        } else {
            let relation = if elder_heads { Relation::Head } else { Relation::Parent };
            let gm = self.push(household, ward, elder_age.max(son_age + 19), true, relation);
            self.person(gm).marital = Marital::Widowed;
            (None, Some(gm))
        };
        let elder_head = if elder_heads { grandfather.or(grandmother) } else { None };
        let (head, son, wife) = self.couple(household, ward, son_age, elder_head, 1.0);
        self.person(son).father = grandfather;
        self.person(son).mother = grandmother;
        let relation = if elder_heads {
            Relation::Grandchild
        } else {
            Relation::Child
        };
        self.children(household, ward, son, wife, kids, relation);
        elder_head.unwrap_or(head)
    }

    fn single_parent(&mut self, household: u32, ward: u16, kids: usize) -> u32 {
        let female = self.rng.random_bool(0.8);
        let parent_age = self.rng.random_range(26..=55);
        let head = self.push(household, ward, parent_age, female, Relation::Head);
        self.person(head).marital = if self.rng.random_bool(0.7) {
            Marital::Divorced
        } else {
            Marital::Widowed
        };
        let parent_birth = self.chunk.people[head as usize].birth;
        for _ in 0..kids {
            let youngest = (parent_age - 42).max(0);
            let oldest = (parent_age - 19).clamp(0, 25).max(youngest);
            let child_age = self.rng.random_range(youngest..=oldest);
            let daughter = self.rng.random_bool(0.49);
            let child = self.push(household, ward, child_age, daughter, Relation::Child);
            debug_assert!(self.chunk.people[child as usize].birth > parent_birth);
            if female {
                self.person(child).mother = Some(head);
            } else {
                self.person(child).father = Some(head);
            }
        }
        head
    }

    fn siblings(&mut self, household: u32, ward: u16) -> u32 {
        let age = self.rng.random_range(18..=35);
        let (first_female, second_female) = (self.rng.random_bool(0.5), self.rng.random_bool(0.5));
        let head = self.push(household, ward, age, first_female, Relation::Head);
        let younger = (age - self.rng.random_range(1..=6)).max(16);
        self.push(household, ward, younger, second_female, Relation::Other);
        head
    }

    /// About 1 % of people have died: mostly the elderly who do not head their household.
    fn deaths(&mut self, start: usize) {
        for i in start..self.chunk.people.len() {
            let p = &self.chunk.people[i];
            let years = age(p.birth, AS_OF);
            let chance = match (p.relation, years) {
                (Relation::Head, _) => 0.0,
                (Relation::Parent, 70..) => 0.6,
                (Relation::Parent, 60..) => 0.15,
                (_, 70..) => 0.12,
                (_, 60..) => 0.04,
                _ => 0.0,
            };
            if chance == 0.0 || !self.rng.random_bool(chance) {
                continue;
            }
            let from = add_years(p.birth, 60).max(AS_OF - 3650);
            let death = day_between(&mut self.rng, from, AS_OF);
            let spouse = p.spouse;
            let p = &mut self.chunk.people[i];
            p.death = Some(death);
            p.spouse = None;
            if let Some(s) = spouse {
                let s = &mut self.chunk.people[s as usize];
                s.spouse = None;
                s.marital = Marital::Widowed;
            }
        }
    }
}

/// Number of (birth province, century/sex, two-digit year) keys of citizen IDs.
const KEYS: usize = 63 * 400;

fn key(p: &Person) -> usize {
    usize::from(p.birth_province) * 400 + p.century_sex() * 100 + (pick::year(p.birth) % 100) as usize
}

/// A citizen ID: 12 ASCII digits.
pub(crate) type CitizenId = [u8; 12];

/// Assigns every person a unique citizen ID, indexed by global person index.
///
/// Within a key the serial numbers follow chunk order; the six last digits spread them over the
/// key's million values with a little jitter, which keeps them unique and unremarkable.
pub(crate) fn assign_ids(seed: u64, r: &Reference, chunks: &[Chunk]) -> Result<Vec<CitizenId>, Error> {
    let counts: Vec<Vec<u32>> = chunks
        .par_iter()
        .map(|c| {
            let mut counts = vec![0u32; KEYS];
            for p in &c.people {
                counts[key(p)] += 1;
            }
            counts
        })
        .collect();
    let mut totals = vec![0u64; KEYS];
    let mut offsets = Vec::with_capacity(chunks.len());
    for c in &counts {
        offsets.push(totals.iter().map(|&t| t as u32).collect::<Vec<u32>>());
        for (t, n) in totals.iter_mut().zip(c) {
            *t += u64::from(*n);
        }
    }
    if let Some(k) = totals.iter().position(|&t| t > 1_000_000) {
        return Err(Error::Config(format!(
            "too many citizens for one birth province and year (key {k}): lower --citizens"
        )));
    }
    let gaps: Vec<u64> = totals
        .iter()
        .map(|&t| 1_000_000_u64.checked_div(t).unwrap_or(1))
        .collect();
    let prefixes: Vec<&[u8]> = r.pre2025.iter().map(|p| p.citizen_id_prefix.as_bytes()).collect();
    let total: usize = chunks.iter().map(|c| c.people.len()).sum();
    let mut ids = vec![[b'0'; 12]; total];
    let mut slices = Vec::with_capacity(chunks.len());
    let mut rest = ids.as_mut_slice();
    for c in chunks {
        let (head, tail) = rest.split_at_mut(c.people.len());
        slices.push(head);
        rest = tail;
    }
    slices
        .into_par_iter()
        .zip(chunks)
        .zip(offsets)
        .for_each(|((out, c), mut next)| {
            for (i, (p, id)) in c.people.iter().zip(out.iter_mut()).enumerate() {
                let k = key(p);
                let serial = u64::from(next[k]);
                next[k] += 1;
                let jitter = pick::mix(seed, (c.first_person + i) as u64) % gaps[k];
                let suffix = serial * gaps[k] + jitter;
                let yy = pick::year(p.birth) % 100;
                let text = format!(
                    "{}{}{:02}{:06}",
                    digits(prefixes[usize::from(p.birth_province)]),
                    p.century_sex(),
                    yy,
                    suffix
                );
                id.copy_from_slice(&text.as_bytes()[..12]);
            }
        });
    Ok(ids)
}

fn digits(bytes: &[u8]) -> &str {
    std::str::from_utf8(bytes).unwrap_or("000")
}

/// Global indexes of living adults (18+), by 2025 province of permanent residence and by ward.
pub(crate) struct Adults {
    pub by_province: Vec<Vec<u32>>,
    pub by_ward: Vec<Vec<u32>>,
    pub all: Vec<u32>,
}

impl Adults {
    pub(crate) fn collect(r: &Reference, chunks: &[Chunk]) -> Self {
        let mut by_province = vec![Vec::new(); r.provinces.len()];
        let mut by_ward = vec![Vec::new(); r.wards.len()];
        let mut all = Vec::new();
        for c in chunks {
            for (i, p) in c.people.iter().enumerate() {
                if p.living() && age(p.birth, AS_OF) >= 18 {
                    let g = (c.first_person + i) as u32;
                    let ward = usize::from(p.permanent_ward);
                    by_ward[ward].push(g);
                    by_province[r.wards[ward].province].push(g);
                    all.push(g);
                }
            }
        }
        Self {
            by_province,
            by_ward,
            all,
        }
    }

    /// A living adult of `province` when there is one, else of anywhere.
    pub(crate) fn in_province(&self, rng: &mut Stream, province: usize) -> Option<u32> {
        let pool = if self.by_province[province].is_empty() {
            &self.all
        } else {
            &self.by_province[province]
        };
        (!pool.is_empty()).then(|| *one_of(rng, pool))
    }
}

/// Finds a person by global index.
pub(crate) fn person(chunks: &[Chunk], global: u32) -> &Person {
    let g = global as usize;
    let chunk = &chunks[g / CHUNK];
    &chunk.people[g - chunk.first_person]
}
