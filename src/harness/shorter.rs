//! Searching for a shorter failing sequence after single-step deletion got stuck.
//!
//! Dropping one step at a time ([`super::minimize`]) stops at *one-step* minimality: it cannot
//! drop two steps that only make sense together (create a pool, delete it), nor replace two
//! steps by one that proptest's shrinking cannot reach (a create that names an existing
//! PoolID on purpose, [`IdSel::Existing`], instead of two creates that pick the same
//! name). [`search`] tries, in order and for the same rule:
//!
//! 1. every deletion of two steps;
//! 2. every sequence of length 1, then 2, then 3 … (shorter than the counterexample), over the
//!    *alphabet*: the distinct operations of the counterexample and the
//!    [`canonical_operations`] of the dialect, in lexicographic order, up to
//!    [`SEQUENCE_BUDGET`] sequences.
//!
//! It refuses to know which rule is wanted or how a failure is judged: the caller says
//! whether a candidate fails.

use crate::model::operation::*;
use crate::model::step::method_of;
use crate::model::Operation;
use crate::spec::Profile;

use super::HarnessError;

/// The first shorter candidate that `fails`, if any (see the module docs for the order).
pub fn search(
    profile: &Profile,
    ops: &[Operation],
    fails: &mut dyn FnMut(&[Operation]) -> Result<bool, HarnessError>,
) -> Result<Option<Vec<Operation>>, HarnessError> {
    let n = ops.len();
    if n <= 1 {
        return Ok(None);
    }
    for first in 0..n {
        for second in first + 1..n {
            let candidate: Vec<Operation> = ops
                .iter()
                .enumerate()
                .filter(|(idx, _)| *idx != first && *idx != second)
                .map(|(_, op)| op.clone())
                .collect();
            if !candidate.is_empty() && fails(&candidate)? {
                return Ok(Some(candidate));
            }
        }
    }
    let alphabet = alphabet(profile, ops);
    let mut budget = SEQUENCE_BUDGET;
    for length in 1..n {
        let mut digits = vec![0usize; length];
        loop {
            if budget == 0 {
                return Ok(None);
            }
            budget -= 1;
            let candidate: Vec<Operation> = digits.iter().map(|&d| alphabet[d].clone()).collect();
            if fails(&candidate)? {
                return Ok(Some(candidate));
            }
            if !advance(&mut digits, alphabet.len()) {
                break;
            }
        }
    }
    Ok(None)
}

/// How many sequences over the alphabet [`search`] tries at most (after the pair deletions):
/// every sequence of one and two operations, and the first of three and more — enough for
/// the counterexamples the zoo's mutants give, bounded so that shrinking stays well under a
/// second.
pub const SEQUENCE_BUDGET: usize = 4096;

/// The next sequence in lexicographic order over an alphabet of `base` letters; `false` after
/// the last one.
pub(crate) fn advance(digits: &mut [usize], base: usize) -> bool {
    for digit in digits.iter_mut().rev() {
        *digit += 1;
        if *digit < base {
            return true;
        }
        *digit = 0;
    }
    false
}

/// The distinct operations of `ops`, then the canonical operations not among them.
pub fn alphabet(profile: &Profile, ops: &[Operation]) -> Vec<Operation> {
    let mut alphabet: Vec<Operation> = Vec::new();
    for op in ops.iter().cloned().chain(canonical_operations(profile)) {
        if !alphabet.contains(&op) {
            alphabet.push(op);
        }
    }
    alphabet
}

const MEMORY: u8 = 0;
const PROCESSOR: u8 = 1;
const ETHERNET: u8 = 2;
const VHD: u8 = 3;
const SAN: u8 = 4;

fn alloc(amount: Amount, resources: ResSel) -> AllocSel {
    AllocSel {
        amount,
        limit: LimitSel::Null,
        resources,
        foreign_type: false,
    }
}

fn quantity(amount: Amount) -> AllocSel {
    alloc(amount, ResSel::Subset(0))
}

fn named(mask: u8) -> AllocSel {
    alloc(Amount::Quarters(0), ResSel::Subset(mask))
}

fn create(
    resource: u8,
    pool_id: IdSel,
    parents: &[PoolSel],
    allocations: &[AllocSel],
) -> Operation {
    Operation::Create(CreateOp {
        resource: TypeSel(resource),
        pool_id,
        element_name: Some(1),
        parents: parents.to_vec(),
        allocations: allocations.to_vec(),
        encoding: EncodingSel::CimXml,
        fault: Fault::None,
    })
}

fn change_parents(child: PoolSel, parents: &[PoolSel], allocations: &[AllocSel]) -> Operation {
    Operation::ChangeParents(ChangeParentsOp {
        child,
        parents: parents.to_vec(),
        allocations: allocations.to_vec(),
        encoding: EncodingSel::CimXml,
        fault: Fault::None,
    })
}

fn delete(pool: PoolSel) -> Operation {
    Operation::Delete(DeleteOp {
        pool,
        fault: Fault::None,
    })
}

fn devices(pool: PoolSel, devices: &[DeviceSel]) -> HostResourcesOp {
    HostResourcesOp {
        pool,
        devices: devices.to_vec(),
        fault: Fault::None,
    }
}

/// The canonical operations the profile's dialect has a supported method for: a small pool of
/// well-formed calls that reach every method and the boundaries the rules are about.
pub fn canonical_operations(profile: &Profile) -> Vec<Operation> {
    use PoolSel::{Concrete, Dangling, Live};
    let first = IdSel::Named(1);
    let all = vec![
        create(
            PROCESSOR,
            first,
            &[Live(0)],
            &[quantity(Amount::Quarters(1))],
        ),
        create(MEMORY, first, &[Live(0)], &[quantity(Amount::Quarters(2))]),
        create(
            MEMORY,
            IdSel::Named(2),
            &[Live(0)],
            &[quantity(Amount::AllFree)],
        ),
        create(
            MEMORY,
            IdSel::Named(3),
            &[Live(0)],
            &[quantity(Amount::FreePlusOne)],
        ),
        create(
            MEMORY,
            IdSel::Named(4),
            &[Live(0), Live(1)],
            &[quantity(Amount::AllFree)],
        ),
        create(
            MEMORY,
            IdSel::Named(5),
            &[Live(0), Live(1)],
            &[quantity(Amount::Quarters(2)), quantity(Amount::Quarters(2))],
        ),
        create(
            MEMORY,
            IdSel::Existing(0),
            &[Live(0)],
            &[quantity(Amount::Quarters(1))],
        ),
        create(ETHERNET, first, &[Live(0)], &[named(1)]),
        create(ETHERNET, IdSel::Named(2), &[Live(0), Live(1)], &[named(3)]),
        create(
            VHD,
            first,
            &[Live(0)],
            &[alloc(Amount::Quarters(0), ResSel::Under(0))],
        ),
        create(SAN, first, &[Live(0)], &[named(1)]),
        delete(Concrete(0)),
        delete(Concrete(1)),
        delete(Live(0)),
        delete(Dangling(0)),
        change_parents(Concrete(0), &[Live(0)], &[quantity(Amount::AllFree)]),
        change_parents(Concrete(0), &[Live(1)], &[quantity(Amount::Quarters(2))]),
        Operation::ChangeSettings(ChangeSettingsOp {
            child: Concrete(0),
            pool_id: IdSel::Named(6),
            element_name: Some(6),
            foreign_type: false,
            encoding: EncodingSel::CimXml,
            fault: Fault::None,
        }),
        Operation::CreateRoot(CreateRootOp {
            resource: TypeSel(ETHERNET),
            element_name: Some(1),
            devices: vec![DeviceSel::Own(0)],
            fault: Fault::None,
        }),
        Operation::AddResources(devices(Concrete(0), &[DeviceSel::Own(1)])),
        Operation::RemoveResources(devices(Concrete(0), &[DeviceSel::Own(0)])),
    ];
    all.into_iter()
        .filter(|op| method_of(op, profile.dialect).is_some_and(|m| profile.supports(m)))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn canonical_operations_follow_the_dialect() {
        let msvm = canonical_operations(&Profile::built_in("reference-msvm"));
        let cim = canonical_operations(&Profile::built_in("reference-cim"));
        assert!(msvm
            .iter()
            .any(|op| matches!(op, Operation::ChangeSettings(_))));
        assert!(!msvm.iter().any(|op| matches!(op, Operation::CreateRoot(_))));
        assert!(cim.iter().any(|op| matches!(op, Operation::CreateRoot(_))));
        assert!(!cim
            .iter()
            .any(|op| matches!(op, Operation::ChangeSettings(_))));
    }

    #[test]
    fn the_search_drops_two_steps_that_only_go_together() {
        let profile = Profile::built_in("reference-msvm");
        let canonical = canonical_operations(&profile);
        let wanted = canonical[1].clone();
        let ops = vec![canonical[2].clone(), canonical[3].clone(), wanted.clone()];
        // "Fails" exactly when the sequence is the wanted operation alone.
        let mut fails = |candidate: &[Operation]| Ok(candidate == [wanted.clone()]);
        let found = search(&profile, &ops, &mut fails).expect("searches");
        assert_eq!(found, Some(vec![wanted]));
    }

    #[test]
    fn nothing_shorter_than_one_step() {
        let profile = Profile::built_in("reference-cim");
        let ops = vec![canonical_operations(&profile)[0].clone()];
        let mut fails = |_: &[Operation]| Ok(true);
        assert_eq!(search(&profile, &ops, &mut fails).expect("searches"), None);
    }
}
