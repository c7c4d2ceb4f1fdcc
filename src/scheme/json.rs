//! The few fields a scheme reads from a signed JSON body (its id, its
//! timestamp, a handshake's members), found in one pass with `serde`: the
//! members on the way to a field are walked, every other value is skipped
//! with [`IgnoredAny`], so nothing is built that is not asked for.
//!
//! Parsing the whole body into a `serde_json::Value` did the same job but
//! cost 1.6 µs more for a 1 KiB Slack delivery and 400 µs more for a 1 MiB
//! Stripe one (`cargo bench --bench verify -- --ratios`, side by side).
//! The answers are the ones `Value::pointer` gives: RFC 6901 pointers, the
//! last of repeated keys wins, and a body that is not JSON has no fields.

use std::borrow::Cow;
use std::fmt;

use serde::de::{self, DeserializeSeed, IgnoredAny, MapAccess, SeqAccess, Visitor};

/// A value found at a pointer.
#[derive(Clone, Debug, PartialEq)]
pub(crate) enum Field {
    /// A string.
    Str(String),
    /// A number, as `serde_json` writes it back.
    Num(serde_json::Number),
    /// `true`, `false`, `null`, an object or an array.
    Other,
}

impl Field {
    pub(crate) fn as_str(&self) -> Option<&str> {
        match self {
            Self::Str(s) => Some(s),
            _ => None,
        }
    }

    pub(crate) fn into_string(self) -> Option<String> {
        match self {
            Self::Str(s) => Some(s),
            _ => None,
        }
    }
}

/// The value at each of `pointers` in `body`, in order; `None` when `body`
/// is not one JSON value. More than 32 pointers are not looked up.
pub(crate) fn fields(body: &[u8], pointers: &[&str]) -> Option<Vec<Option<Field>>> {
    Pointers::new(pointers).find(body)
}

/// JSON pointers parsed once into their reference tokens, for a scheme
/// that reads the same fields of every delivery.
#[derive(Clone, Debug)]
pub(crate) struct Pointers<'p> {
    paths: Vec<Vec<Cow<'p, str>>>,
    /// Bit `i`: `paths[i]` can point somewhere.
    wanted: u32,
}

impl<'p> Pointers<'p> {
    pub(crate) fn new(pointers: &[&'p str]) -> Self {
        // A pointer that does not start with `/` (other than "", the whole
        // document) points nowhere, as for `Value::pointer`.
        let wanted = pointers
            .iter()
            .take(32)
            .enumerate()
            .filter(|(_, p)| p.is_empty() || p.starts_with('/'))
            .fold(0u32, |w, (i, _)| w | 1 << i);
        Self {
            paths: pointers.iter().map(|p| segments(p)).collect(),
            wanted,
        }
    }

    /// [`fields`] of `body` at these pointers.
    pub(crate) fn find(&self, body: &[u8]) -> Option<Vec<Option<Field>>> {
        let mut found = vec![None; self.paths.len()];
        // JSON is UTF-8 (RFC 8259), as `serde_json::Value` requires; the
        // walk skips the strings it does not read without checking them, so
        // the whole body is checked here (found by the `ebay_header` fuzz
        // target: a body with a stray byte in another field gave an id
        // `Value` refused).
        let body = std::str::from_utf8(body).ok()?;
        let mut de = serde_json::Deserializer::from_str(body);
        Walk {
            paths: &self.paths,
            found: &mut found,
            depth: 0,
            wanted: self.wanted,
        }
        .deserialize(&mut de)
        .ok()?;
        de.end().ok()?;
        Some(found)
    }
}

/// A pointer's reference tokens, unescaped (`~1` is `/`, `~0` is `~`).
fn segments(pointer: &str) -> Vec<Cow<'_, str>> {
    pointer
        .split('/')
        .skip(1)
        .map(|s| match s.contains('~') {
            true => Cow::Owned(s.replace("~1", "/").replace("~0", "~")),
            false => Cow::Borrowed(s),
        })
        .collect()
}

/// An array index as RFC 6901 (and `Value::pointer`) reads it: digits, no
/// leading zero.
fn index(segment: &str) -> Option<usize> {
    if segment.starts_with('+') || (segment.starts_with('0') && segment.len() != 1) {
        return None;
    }
    segment.parse().ok()
}

/// The walk below one value: `wanted` holds the pointers that lead to or
/// through it (bit `i` for `paths[i]`).
struct Walk<'a> {
    paths: &'a [Vec<Cow<'a, str>>],
    found: &'a mut [Option<Field>],
    depth: usize,
    wanted: u32,
}

impl Walk<'_> {
    /// Records the value for the pointers that end here.
    fn found(&mut self, field: impl Fn() -> Field) {
        for i in 0..self.paths.len().min(32) {
            if self.wanted & (1 << i) != 0 && self.paths[i].len() == self.depth {
                self.found[i] = Some(field());
            }
        }
    }

    /// The pointers that go on into the member or element `matches`
    /// accepts, their values so far forgotten (a repeated key replaces the
    /// value before it).
    fn enter(&mut self, matches: impl Fn(&str) -> bool) -> u32 {
        let mut next = 0;
        for i in 0..self.paths.len().min(32) {
            if self.wanted & (1 << i) != 0
                && self.paths[i]
                    .get(self.depth)
                    .is_some_and(|segment| matches(segment))
            {
                next |= 1 << i;
                self.found[i] = None;
            }
        }
        next
    }

    fn below(&mut self, wanted: u32) -> Walk<'_> {
        Walk {
            paths: self.paths,
            found: self.found,
            depth: self.depth + 1,
            wanted,
        }
    }
}

impl<'de> DeserializeSeed<'de> for Walk<'_> {
    type Value = ();

    fn deserialize<D: de::Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        if self.wanted == 0 {
            return d.deserialize_ignored_any(IgnoredAny).map(drop);
        }
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for Walk<'_> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON value")
    }

    fn visit_bool<E>(mut self, _: bool) -> Result<(), E> {
        self.found(|| Field::Other);
        Ok(())
    }

    fn visit_unit<E>(mut self) -> Result<(), E> {
        self.found(|| Field::Other);
        Ok(())
    }

    fn visit_u64<E>(mut self, n: u64) -> Result<(), E> {
        self.found(|| Field::Num(n.into()));
        Ok(())
    }

    fn visit_i64<E>(mut self, n: i64) -> Result<(), E> {
        self.found(|| Field::Num(n.into()));
        Ok(())
    }

    fn visit_f64<E>(mut self, n: f64) -> Result<(), E> {
        let field = serde_json::Number::from_f64(n).map_or(Field::Other, Field::Num);
        self.found(|| field.clone());
        Ok(())
    }

    fn visit_str<E>(mut self, s: &str) -> Result<(), E> {
        self.found(|| Field::Str(s.to_owned()));
        Ok(())
    }

    fn visit_map<A: MapAccess<'de>>(mut self, mut map: A) -> Result<(), A::Error> {
        self.found(|| Field::Other);
        while let Some(key) = map.next_key_seed(Key)? {
            let next = self.enter(|segment| segment == key);
            map.next_value_seed(self.below(next))?;
        }
        Ok(())
    }

    fn visit_seq<A: SeqAccess<'de>>(mut self, mut seq: A) -> Result<(), A::Error> {
        self.found(|| Field::Other);
        let mut at = 0usize;
        loop {
            let next = self.enter(|segment| index(segment) == Some(at));
            if seq.next_element_seed(self.below(next))?.is_none() {
                return Ok(());
            }
            at += 1;
        }
    }
}

/// An object key, borrowed from the body when it holds no escape.
struct Key;

impl<'de> DeserializeSeed<'de> for Key {
    type Value = Cow<'de, str>;

    fn deserialize<D: de::Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_str(self)
    }
}

impl<'de> Visitor<'de> for Key {
    type Value = Cow<'de, str>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an object key")
    }

    fn visit_borrowed_str<E>(self, s: &'de str) -> Result<Self::Value, E> {
        Ok(Cow::Borrowed(s))
    }

    fn visit_str<E>(self, s: &str) -> Result<Self::Value, E> {
        Ok(Cow::Owned(s.to_owned()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use serde_json::Value;

    /// What `Value::pointer` answers, as a `Field`.
    fn oracle(body: &[u8], pointer: &str) -> Option<Option<Field>> {
        let value: Value = serde_json::from_slice(body).ok()?;
        Some(value.pointer(pointer).map(|v| match v {
            Value::String(s) => Field::Str(s.clone()),
            Value::Number(n) => Field::Num(n.clone()),
            _ => Field::Other,
        }))
    }

    fn one(body: &str, pointer: &str) -> Option<Option<Field>> {
        fields(body.as_bytes(), &[pointer]).map(|mut f| f.remove(0))
    }

    #[test]
    fn a_body_that_is_not_utf8_is_no_json_even_where_no_pointer_looks() {
        // The stray byte sits in a field no pointer reads.
        let body = b"{\"id\":\"evt_1\",\"date\":\"2\xcf21\"}";
        assert_eq!(oracle(body, "/id"), None);
        assert_eq!(fields(body, &["/id"]), None);
    }

    #[test]
    fn finds_what_value_pointer_finds() {
        let body = r#"{"id":"evt_1","n":12,"f":1.5,"neg":-3,"t":true,"z":null,
            "a":{"b":[10,{"c":"deep"}],"x/y":"slash","m~n":"tilde"},"":"empty key"}"#;
        for pointer in [
            "/id", "/n", "/f", "/neg", "/t", "/z", "/a", "/a/b", "/a/b/0", "/a/b/1/c", "/a/b/2",
            "/a/b/01", "/a/b/+1", "/a/x~1y", "/a/m~0n", "/", "", "/missing", "/id/0", "id",
        ] {
            assert_eq!(
                one(body, pointer),
                oracle(body.as_bytes(), pointer),
                "{pointer}"
            );
        }
        assert_eq!(one(body, "/id"), Some(Some(Field::Str("evt_1".into()))));
    }

    #[test]
    fn the_last_of_repeated_keys_wins_whole() {
        // The later `a` replaces the earlier one entirely, as in a `Value`.
        let body = r#"{"a":{"b":1},"a":{"c":2},"id":"x","id":"y"}"#;
        assert_eq!(one(body, "/a/b"), Some(None));
        assert_eq!(one(body, "/a/c"), Some(Some(Field::Num(2.into()))));
        assert_eq!(one(body, "/id"), Some(Some(Field::Str("y".into()))));
    }

    #[test]
    fn a_body_that_is_not_one_json_value_has_no_fields() {
        for body in [
            r#"{"id":"x""#,
            r#"{"id":"x"} trailing"#,
            r#"{"id":"x","rest":[1,}"#,
            "id=x&a=b",
            "",
        ] {
            assert_eq!(fields(body.as_bytes(), &["/id"]), None, "{body}");
        }
    }

    #[test]
    fn several_pointers_in_one_pass() {
        let body = r#"{"type":"url_verification","challenge":"c","event_id":"Ev1"}"#;
        let got = fields(
            body.as_bytes(),
            &["/event_id", "/type", "/challenge", "/nope"],
        );
        assert_eq!(
            got,
            Some(vec![
                Some(Field::Str("Ev1".into())),
                Some(Field::Str("url_verification".into())),
                Some(Field::Str("c".into())),
                None,
            ])
        );
    }

    fn json() -> impl Strategy<Value = Value> {
        let leaf = prop_oneof![
            Just(Value::Null),
            any::<bool>().prop_map(Value::Bool),
            any::<i64>().prop_map(Value::from),
            any::<u64>().prop_map(Value::from),
            (-1e6f64..1e6).prop_map(Value::from),
            "[a-c/~]{0,3}".prop_map(Value::from),
        ];
        leaf.prop_recursive(4, 32, 4, |inner| {
            prop_oneof![
                prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
                prop::collection::vec(("[a-c/~]{0,2}", inner), 0..4)
                    .prop_map(|kv| Value::Object(kv.into_iter().collect())),
            ]
        })
    }

    proptest! {
        /// Every pointer agrees with `Value::pointer`, on any document.
        #[test]
        fn agrees_with_value_pointer(doc in json(), pointer in "(/([a-c]|~0|~1|[0-3]|0[0-9]){0,2}){0,3}") {
            let body = serde_json::to_vec(&doc).unwrap();
            prop_assert_eq!(fields(&body, &[&pointer]).map(|mut f| f.remove(0)), oracle(&body, &pointer));
        }

        /// Arbitrary bytes: no panic, and "not JSON" exactly when serde_json
        /// says so.
        #[test]
        fn any_bytes(body in prop::collection::vec(any::<u8>(), 0..64)) {
            let ours = fields(&body, &["/a"]);
            prop_assert_eq!(ours.is_some(), serde_json::from_slice::<Value>(&body).is_ok());
        }
    }
}
