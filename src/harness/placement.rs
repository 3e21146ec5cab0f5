//! ID-005: pool and job references name instances where clients look for them — in the
//! namespace and of the classes the profile's `[instances]` table names.
//!
//! What it refuses to know: how an implementation builds its paths (host names, key
//! properties, their quoting). It reads only the namespace and the class name of a reference,
//! in any of the spellings a WBEM stack uses (`\\host\root\ns:Class.Key="v"`,
//! `//host/root/ns:Class.Key="v"`, `root/ns:Class.Key="v"`, or a relative `Class.Key="v"`,
//! which lives in the service's own namespace), and compares both without regard to case or
//! to `\` versus `/`, as CIM does.

use crate::spec::profile::Instances;
use crate::sut::ObjectPath;

/// What a reference is expected to name.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Named {
    /// A `Pool` output or a pool among a job's AffectedElements.
    Pool,
    /// A `Job` output.
    Job,
    /// An element of a job's AffectedElements: any class, so only its namespace is checked.
    Affected,
}

/// Why `path` is not where the profile says a `what` lives, or `None` when it is.
pub(crate) fn misplaced(instances: &Instances, what: Named, path: &ObjectPath) -> Option<String> {
    let (namespace, class) = split(path.as_str());
    let none = Vec::new();
    let classes = match what {
        Named::Pool => &instances.pool_classes,
        Named::Job => &instances.job_classes,
        Named::Affected => &none,
    };
    let noun = match what {
        Named::Pool => "pool",
        Named::Job => "job",
        Named::Affected => "affected element",
    };
    if !classes.is_empty() && !classes.iter().any(|c| c.eq_ignore_ascii_case(class)) {
        return Some(format!(
            "the {noun} reference {path} names class {class:?}, not one of {classes:?}"
        ));
    }
    match (&instances.namespace, namespace) {
        (Some(wanted), Some(found)) if !same_namespace(wanted, found) => Some(format!(
            "the {noun} reference {path} is in namespace {found:?}, not {wanted:?}"
        )),
        _ => None,
    }
}

/// [`misplaced`], remembering for each kind of reference the last model path (the text before
/// the keys) that was in place: every reference of one implementation usually shares it, and
/// the verdict depends on nothing else ([`split`] reads only that part).
#[derive(Debug, Default)]
pub(crate) struct Placement {
    /// Per [`Named`], the model path of the last reference found in place.
    in_place: [String; 3],
}

impl Placement {
    /// Exactly `misplaced(instances, what, path)`.
    pub(crate) fn misplaced(
        &mut self,
        instances: &Instances,
        what: Named,
        path: &ObjectPath,
    ) -> Option<String> {
        let head = model_path(path.as_str());
        let known = &mut self.in_place[what as usize];
        if !known.is_empty() && known == head {
            return None;
        }
        let why = misplaced(instances, what, path);
        if why.is_none() {
            known.clear();
            known.push_str(head);
        }
        why
    }
}

/// The model path of a reference: up to the first `.` (keys) or `=` (a bare key value or
/// `=@`) after its host, if it names one. A host name may hold dots (`srv.example.com`,
/// `10.0.0.5`) and a port's colon; namespace and class names hold neither `.` nor `=`.
fn model_path(text: &str) -> &str {
    let after_host = host_end(text);
    match text[after_host..]
        .bytes()
        .position(|b| b == b'.' || b == b'=')
    {
        Some(end) => &text[..after_host + end],
        None => text,
    }
}

/// Where the host of a reference ends: the separator after `\\host` or `//host` (the whole
/// text when none follows), or 0 when the reference names no host.
fn host_end(text: &str) -> usize {
    if text.starts_with(r"\\") || text.starts_with("//") {
        text[2..].find(['\\', '/']).map_or(text.len(), |at| at + 2)
    } else {
        0
    }
}

/// The namespace (if the reference names one) and the class name of a reference.
fn split(text: &str) -> (Option<&str>, &str) {
    let head = model_path(text);
    let after_host = host_end(head);
    let Some(colon) = head[after_host..].rfind(':').map(|at| at + after_host) else {
        return (None, head);
    };
    let (mut namespace, class) = (&head[..colon], &head[colon + 1..]);
    for lead in [r"\\", "//"] {
        if let Some(rest) = namespace.strip_prefix(lead) {
            namespace = rest
                .find(['\\', '/'])
                .map_or("", |slash| &rest[slash + 1..]);
        }
    }
    (Some(namespace), class)
}

/// Whether two namespaces are the same as CIM compares them: case-insensitive, `\` and `/`
/// alike, outer separators ignored. Allocates nothing (it runs on every reply).
fn same_namespace(a: &str, b: &str) -> bool {
    // Byte by byte: folding ASCII case and `\\` to `/` leaves every other byte (of a
    // multi-byte character too) as it is, as folding characters would.
    let fold = |c: u8| {
        if c == b'\\' {
            b'/'
        } else {
            c.to_ascii_lowercase()
        }
    };
    let (a, b) = (a.trim_matches(['\\', '/']), b.trim_matches(['\\', '/']));
    a.len() == b.len() && a.bytes().zip(b.bytes()).all(|(x, y)| fold(x) == fold(y))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn instances() -> Instances {
        Instances {
            namespace: Some(r"root\virtualization\v2".into()),
            pool_classes: vec!["Msvm_ResourcePool".into(), "Msvm_ProcessorPool".into()],
            job_classes: vec!["Msvm_ConcreteJob".into()],
        }
    }

    fn check(what: Named, text: &str) -> Option<String> {
        misplaced(&instances(), what, &ObjectPath(text.into()))
    }

    #[test]
    fn every_spelling_of_the_right_place_passes() {
        for text in [
            r#"\\HOST\root\virtualization\v2:Msvm_ResourcePool.InstanceID="Microsoft:1""#,
            r#"//host/ROOT/Virtualization/V2:msvm_processorpool.InstanceID="x.y=z""#,
            r#"root/virtualization/v2:Msvm_ResourcePool.InstanceID="C:\VMs""#,
            r#"Msvm_ResourcePool.InstanceID="C:\VMs""#,
            // Host names with dots, and a port.
            r#"\\srv.example.com\root\virtualization\v2:Msvm_ResourcePool.InstanceID="1""#,
            r#"//10.0.0.5:5989/root/virtualization/v2:Msvm_ResourcePool.InstanceID="a.b""#,
        ] {
            assert_eq!(check(Named::Pool, text), None, "{text}");
        }
        // A dotted host does not hide a wrong namespace or class.
        assert!(check(
            Named::Pool,
            r#"\\srv.example.com\root\cimv2:Msvm_ResourcePool.InstanceID="1""#
        )
        .is_some());
        assert!(check(
            Named::Pool,
            r#"\\srv.example.com\root\virtualization\v2:Msvm_ConcreteJob.InstanceID="1""#
        )
        .is_some());
        assert_eq!(
            check(
                Named::Job,
                r#"\\H\root\virtualization\v2:Msvm_ConcreteJob.InstanceID="1""#
            ),
            None
        );
    }

    #[test]
    fn another_namespace_or_class_is_named() {
        let wrong_ns = check(
            Named::Pool,
            r#"\\H\root\cimv2:Msvm_ResourcePool.InstanceID="1""#,
        );
        assert!(wrong_ns.is_some_and(|w| w.contains(r#""root\\cimv2""#)));
        let wrong_class = check(
            Named::Pool,
            r#"\\H\root\virtualization\v2:Msvm_ConcreteJob.I="1""#,
        );
        assert!(wrong_class.is_some_and(|w| w.contains("\"Msvm_ConcreteJob\"")));
        let pool_as_job = check(
            Named::Job,
            r#"root\virtualization\v2:Msvm_ResourcePool.I="1""#,
        );
        assert!(pool_as_job.is_some());
        assert!(check(Named::Pool, r#"\\H\:_ResourcePool.I="1""#).is_some());
        assert!(check(Named::Pool, r#"\\H\xyzzy:Msvm_ResourcePool.I="1""#).is_some());
        // An affected element may be of any class, but not of another namespace.
        assert_eq!(
            check(
                Named::Affected,
                r#"\\H\root\virtualization\v2:Msvm_Other.I="1""#
            ),
            None
        );
        assert!(check(Named::Affected, r#"\\H\root\cimv2:Msvm_ResourcePool.I="1""#).is_some());
    }

    #[test]
    fn a_profile_naming_nothing_checks_nothing() {
        let none = Instances::default();
        let path = ObjectPath(r#"\\H\elsewhere:Other.I="1""#.into());
        assert_eq!(misplaced(&none, Named::Pool, &path), None);
        assert_eq!(misplaced(&none, Named::Job, &path), None);
    }

    #[test]
    fn the_memo_answers_what_misplaced_answers_in_any_order() {
        let paths = [
            r#"\\H\root\virtualization\v2:Msvm_ResourcePool.InstanceID="1""#,
            r#"\\H\root\virtualization\v2:Msvm_ResourcePool.InstanceID="2.x=y""#,
            r#"\\H\root\cimv2:Msvm_ResourcePool.InstanceID="1""#,
            r#"\\H\root\virtualization\v2:Msvm_ConcreteJob.InstanceID="1""#,
            r#"Msvm_ResourcePool.InstanceID="3""#,
            r#"Msvm_ResourcePool=@"#,
            "Msvm_ResourcePool",
            "",
        ];
        let mut memo = Placement::default();
        // Every path after every other, for every kind: a remembered path never hides a
        // misplaced one, and one misplaced reference is not remembered as in place.
        for round in 0..2 {
            for (i, first) in paths.iter().enumerate() {
                for second in paths.iter().skip(i * round) {
                    for what in [Named::Pool, Named::Job, Named::Affected] {
                        for text in [first, second] {
                            let path = ObjectPath((*text).into());
                            assert_eq!(
                                memo.misplaced(&instances(), what, &path),
                                misplaced(&instances(), what, &path),
                                "{what:?} {text}"
                            );
                        }
                    }
                }
            }
        }
    }
}
