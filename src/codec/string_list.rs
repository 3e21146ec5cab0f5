//! [`StringList`]: a list of strings kept in one buffer, what the typed views hold a
//! `string[]` property in (`AllocationSettingData::host_resource`).

use std::fmt;

use serde::de::{SeqAccess, Visitor};
use serde::ser::SerializeSeq;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// A list of strings stored back to back in one `String`, with the end of each: two
/// allocations for the whole list instead of one per element. Reads like a `&[String]`
/// ([`iter`](Self::iter), [`get`](Self::get), [`len`](Self::len)); [`to_vec`](Self::to_vec)
/// gives the owned vector. Equal lists have equal elements in the same order; serialized as
/// a sequence of strings, exactly as a `Vec<String>` is.
#[derive(Clone, Default, PartialEq, Eq, Hash)]
pub struct StringList {
    /// Every element, concatenated.
    pub(crate) buf: String,
    /// Where each element ends in `buf` (ascending; each a character boundary).
    pub(crate) ends: Vec<usize>,
}

impl StringList {
    /// An empty list.
    pub fn new() -> Self {
        StringList::default()
    }

    /// Appends one element.
    pub fn push(&mut self, item: &str) {
        self.buf.push_str(item);
        self.ends.push(self.buf.len());
    }

    /// The number of elements.
    pub fn len(&self) -> usize {
        self.ends.len()
    }

    /// Whether the list has no elements.
    pub fn is_empty(&self) -> bool {
        self.ends.is_empty()
    }

    /// Element `i`, if there is one.
    pub fn get(&self, i: usize) -> Option<&str> {
        let end = *self.ends.get(i)?;
        let start = match i.checked_sub(1) {
            Some(before) => *self.ends.get(before)?,
            None => 0,
        };
        self.buf.get(start..end)
    }

    /// The elements, in order.
    pub fn iter(&self) -> Iter<'_> {
        Iter {
            list: self,
            front: 0,
            back: self.ends.len(),
        }
    }

    /// Whether some element equals `item`.
    pub fn contains(&self, item: &str) -> bool {
        self.iter().any(|x| x == item)
    }

    /// The elements as owned strings.
    pub fn to_vec(&self) -> Vec<String> {
        self.iter().map(str::to_string).collect()
    }
}

/// The elements of a [`StringList`], in order.
#[derive(Clone, Debug)]
pub struct Iter<'l> {
    list: &'l StringList,
    front: usize,
    back: usize,
}

impl<'l> Iterator for Iter<'l> {
    type Item = &'l str;

    fn next(&mut self) -> Option<&'l str> {
        if self.front == self.back {
            return None;
        }
        let item = self.list.get(self.front);
        self.front += 1;
        item
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        let n = self.back - self.front;
        (n, Some(n))
    }
}

impl DoubleEndedIterator for Iter<'_> {
    fn next_back(&mut self) -> Option<Self::Item> {
        if self.front == self.back {
            return None;
        }
        self.back -= 1;
        self.list.get(self.back)
    }
}

impl ExactSizeIterator for Iter<'_> {}

impl<'l> IntoIterator for &'l StringList {
    type Item = &'l str;
    type IntoIter = Iter<'l>;

    fn into_iter(self) -> Iter<'l> {
        self.iter()
    }
}

impl<S: AsRef<str>> FromIterator<S> for StringList {
    fn from_iter<I: IntoIterator<Item = S>>(items: I) -> Self {
        let mut list = StringList::new();
        for item in items {
            list.push(item.as_ref());
        }
        list
    }
}

impl<S: AsRef<str>> Extend<S> for StringList {
    fn extend<I: IntoIterator<Item = S>>(&mut self, items: I) {
        for item in items {
            self.push(item.as_ref());
        }
    }
}

impl From<Vec<String>> for StringList {
    fn from(items: Vec<String>) -> Self {
        items.iter().collect()
    }
}

impl From<&[&str]> for StringList {
    fn from(items: &[&str]) -> Self {
        items.iter().collect()
    }
}

impl From<StringList> for Vec<String> {
    fn from(list: StringList) -> Self {
        list.to_vec()
    }
}

impl<S: AsRef<str>> PartialEq<[S]> for StringList {
    fn eq(&self, other: &[S]) -> bool {
        self.len() == other.len() && self.iter().zip(other).all(|(a, b)| a == b.as_ref())
    }
}

impl<S: AsRef<str>> PartialEq<Vec<S>> for StringList {
    fn eq(&self, other: &Vec<S>) -> bool {
        *self == other[..]
    }
}

impl fmt::Debug for StringList {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list().entries(self.iter()).finish()
    }
}

impl Serialize for StringList {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut seq = serializer.serialize_seq(Some(self.len()))?;
        for item in self {
            seq.serialize_element(item)?;
        }
        seq.end()
    }
}

impl<'de> Deserialize<'de> for StringList {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct ListVisitor;

        impl<'de> Visitor<'de> for ListVisitor {
            type Value = StringList;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a sequence of strings")
            }

            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<StringList, A::Error> {
                let mut list = StringList::new();
                while let Some(item) = seq.next_element::<String>()? {
                    list.push(&item);
                }
                Ok(list)
            }
        }

        deserializer.deserialize_seq(ListVisitor)
    }
}

#[cfg(test)]
mod tests {
    use super::StringList;

    #[test]
    fn reads_like_the_vector_it_was_built_from() {
        for items in [
            vec![],
            vec![String::new()],
            vec![
                "a".to_string(),
                String::new(),
                "ß€".to_string(),
                "x".repeat(40),
            ],
        ] {
            let list = StringList::from(items.clone());
            assert_eq!(list.len(), items.len());
            assert_eq!(list.is_empty(), items.is_empty());
            assert_eq!(list.to_vec(), items);
            assert_eq!(list, items);
            assert_eq!(list.iter().rev().collect::<Vec<_>>(), {
                let mut r: Vec<&str> = items.iter().map(String::as_str).collect();
                r.reverse();
                r
            });
            for (i, item) in items.iter().enumerate() {
                assert_eq!(list.get(i), Some(item.as_str()));
                assert!(list.contains(item));
            }
            assert_eq!(list.get(items.len()), None);
            assert_eq!(format!("{list:?}"), format!("{items:?}"));
            let json = serde_json::to_string(&list).unwrap();
            assert_eq!(json, serde_json::to_string(&items).unwrap());
            assert_eq!(serde_json::from_str::<StringList>(&json).unwrap(), list);
        }
        // The split between elements counts: ["ab"] is not ["a", "b"].
        assert_ne!(
            StringList::from(vec!["ab".to_string()]),
            StringList::from(&["a", "b"][..])
        );
        assert_ne!(
            StringList::from(&["", "a"][..]),
            StringList::from(&["a", ""][..])
        );
    }
}
