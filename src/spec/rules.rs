//! The rule catalogue: every `### ID — title` heading of the area files under `spec/`, with
//! the source, interpretation, outcome and profile knob written beneath it.

use std::fmt;
use std::sync::OnceLock;

use serde::{Deserialize, Serialize};

/// The area files, in the order their rules are listed.
pub const AREA_FILES: &[(&str, &str)] = &[
    ("arguments.md", include_str!("../../spec/arguments.md")),
    ("capacity.md", include_str!("../../spec/capacity.md")),
    (
        "shared-capacity.md",
        include_str!("../../spec/shared-capacity.md"),
    ),
    (
        "host-resources.md",
        include_str!("../../spec/host-resources.md"),
    ),
    (
        "modify-delete.md",
        include_str!("../../spec/modify-delete.md"),
    ),
    ("jobs.md", include_str!("../../spec/jobs.md")),
    (
        "return-codes.md",
        include_str!("../../spec/return-codes.md"),
    ),
    (
        "embedded-instances.md",
        include_str!("../../spec/embedded-instances.md"),
    ),
];

/// A stable rule id such as `ARG-001`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(transparent)]
pub struct RuleId(pub &'static str);

impl<'de> Deserialize<'de> for RuleId {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        find(&text)
            .map(|rule| rule.id)
            .ok_or_else(|| serde::de::Error::custom(format!("unknown rule id {text:?}")))
    }
}

impl fmt::Display for RuleId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.0)
    }
}

impl RuleId {
    /// The family prefix, e.g. `ARG` for `ARG-001`.
    pub fn family(self) -> &'static str {
        self.0.split('-').next().unwrap_or(self.0)
    }
}

/// One rule of the specification.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Rule {
    pub id: RuleId,
    pub title: &'static str,
    pub file: &'static str,
    pub source: String,
    pub interpretation: String,
    pub outcome: String,
    pub knob: String,
}

/// All rules, in spec order.
pub fn all() -> &'static [Rule] {
    static RULES: OnceLock<Vec<Rule>> = OnceLock::new();
    RULES.get_or_init(|| {
        AREA_FILES
            .iter()
            .flat_map(|(file, text)| parse_area(file, text))
            .collect()
    })
}

/// The rule with this id, if the specification has it.
pub fn find(id: &str) -> Option<&'static Rule> {
    static INDEX: OnceLock<crate::model::fxhash::FxHashMap<&'static str, usize>> = OnceLock::new();
    let index = INDEX.get_or_init(|| {
        all()
            .iter()
            .enumerate()
            .map(|(i, rule)| (rule.id.0, i))
            .collect()
    });
    index.get(id).map(|&i| &all()[i])
}

/// Whether `id` is well-formed: upper-case letters, a dash, three digits.
pub fn is_rule_id(id: &str) -> bool {
    match id.split_once('-') {
        Some((family, number)) => {
            !family.is_empty()
                && family.bytes().all(|b| b.is_ascii_uppercase())
                && number.len() == 3
                && number.bytes().all(|b| b.is_ascii_digit())
        }
        None => false,
    }
}

fn parse_area(file: &'static str, text: &'static str) -> Vec<Rule> {
    let mut rules: Vec<Rule> = Vec::new();
    for line in text.lines() {
        if let Some(heading) = line.strip_prefix("### ") {
            if let Some((id, title)) = heading.split_once(" — ") {
                if is_rule_id(id.trim()) {
                    rules.push(Rule {
                        id: RuleId(id.trim()),
                        title: title.trim(),
                        file,
                        source: String::new(),
                        interpretation: String::new(),
                        outcome: String::new(),
                        knob: String::new(),
                    });
                    continue;
                }
            }
        }
        let Some(rule) = rules.last_mut() else {
            continue;
        };
        let trimmed = line.trim();
        let field = [
            ("- **Source**:", 0),
            ("- **Interpretation**:", 1),
            ("- **Outcome**:", 2),
            ("- **Profile knob**:", 3),
        ]
        .iter()
        .find_map(|(prefix, idx)| trimmed.strip_prefix(prefix).map(|rest| (*idx, rest)));
        match field {
            Some((idx, rest)) => field_mut(rule, idx).push_str(rest.trim()),
            None if !trimmed.is_empty() && !trimmed.starts_with('#') => {
                let last = last_field(rule);
                if !last.is_empty() {
                    last.push(' ');
                    last.push_str(trimmed);
                }
            }
            None => {}
        }
    }
    rules
}

fn field_mut(rule: &mut Rule, idx: usize) -> &mut String {
    match idx {
        0 => &mut rule.source,
        1 => &mut rule.interpretation,
        2 => &mut rule.outcome,
        _ => &mut rule.knob,
    }
}

fn last_field(rule: &mut Rule) -> &mut String {
    if !rule.knob.is_empty() {
        &mut rule.knob
    } else if !rule.outcome.is_empty() {
        &mut rule.outcome
    } else if !rule.interpretation.is_empty() {
        &mut rule.interpretation
    } else {
        &mut rule.source
    }
}
