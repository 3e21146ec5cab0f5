//! `poolcheck rules`: the rule catalogue with its sources.

use super::Outcome;

pub fn rules() -> Result<Outcome, String> {
    print!("{}", poolcheck::report::rules_text());
    Ok(Outcome::Conforms)
}
