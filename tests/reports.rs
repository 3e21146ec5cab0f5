//! Every report format, from real runs: the JSON against the field table of
//! spec/report-format.md (and back into `RunReport`s), the JUnit document parsed back with
//! quick-xml, and the Markdown summary's order and content.

mod shape;

use std::collections::BTreeMap;
use std::path::PathBuf;

use poolcheck::adapters::build_target;
use poolcheck::harness::{check, Config, RunReport, Verdict};
use poolcheck::report::{self, junit::junit, markdown::markdown, Invocation};
use poolcheck::spec::profile::ExpectedFailure;
use poolcheck::spec::{rules, Profile};
use quick_xml::events::Event;
use quick_xml::Reader;

const REPORT_FORMAT_DOC: &str = include_str!("../spec/report-format.md");

fn run_with(target: &str, profile: &Profile, config: Config) -> RunReport {
    let mut service = build_target(target, profile).expect("target builds");
    check(&mut *service, profile, &config).expect("harness runs")
}

fn config(cases: u32, seed: u64) -> Config {
    Config {
        cases,
        seed,
        ..Config::default()
    }
}

fn expecting(profile: &str, rule: &str, reason: &str) -> Profile {
    let mut profile = Profile::built_in(profile);
    profile.name = format!("{}-expecting-{rule}", profile.name);
    profile.expected_failures.push(ExpectedFailure {
        rule: rule.into(),
        reason: reason.into(),
    });
    profile
}

/// Three runs that between them show every verdict but `filtered`, and one with a filter:
/// a failing mutant, the reference with an expected failure that passes, a mutant with an
/// expected failure that fails, and a filtered run.
fn reports() -> (Vec<RunReport>, Invocation) {
    let failing = run_with(
        "mutant:leak-on-failure",
        &Profile::built_in("reference-msvm"),
        config(500, 7),
    );
    let unexpected = run_with(
        "reference",
        &expecting("reference-cim", "CAP-005", "off by one <&> \"quoted\""),
        config(300, 7),
    );
    let expected = run_with(
        "mutant:off-by-one-capacity",
        &expecting(
            "reference-msvm",
            "CAP-005",
            "refuses exactly the free capacity",
        ),
        Config {
            rules: vec!["CAP".into(), "ARG-001".into()],
            ..config(300, 7)
        },
    );
    let mut invocation = Invocation::new("mutant:leak-on-failure");
    invocation.traces.insert(
        failing.profile.clone(),
        PathBuf::from("poolcheck-failures/reference-msvm-seed7-CAP-002.json"),
    );
    (vec![failing, unexpected, expected], invocation)
}

#[test]
fn the_runs_behind_the_report_tests_show_every_verdict() {
    let (reports, _) = reports();
    let [failing, unexpected, expected] = &reports[..] else {
        unreachable!()
    };
    assert!(!failing.conforms());
    assert!(failing.failure.as_ref().unwrap().deterministic);
    assert_eq!(unexpected.verdict("CAP-005"), Some(Verdict::UnexpectedPass));
    assert!(!unexpected.conforms(), "an unexpected pass fails the run");
    assert!(unexpected.failure.is_none());
    assert_eq!(expected.verdict("CAP-005"), Some(Verdict::ExpectedFailure));
    assert_eq!(expected.verdict("ARG-001"), Some(Verdict::Passed));
    assert_eq!(expected.verdict("DEL-001"), Some(Verdict::Filtered));
    assert!(expected.conforms(), "{:#?}", expected.failure);
}

#[test]
fn the_json_report_has_the_documented_shape_and_reads_back() {
    let (reports, _) = reports();
    let text = report::json(&reports);
    let value: serde_json::Value = serde_json::from_str(&text).expect("valid JSON");
    let fields = shape::documented(REPORT_FORMAT_DOC, "## JSON");
    let errors = shape::check(&value, &fields, "");
    assert!(errors.is_empty(), "{errors:#?}");
    let back: Vec<RunReport> = serde_json::from_str(&text).expect("reads back");
    assert_eq!(back, reports);
    // The documented verdict words are the serialised ones.
    for verdict in report::VERDICTS {
        let word = serde_json::to_value(verdict).unwrap();
        assert!(
            REPORT_FORMAT_DOC.contains(&format!("`{}`", word.as_str().unwrap())),
            "{word} is not documented"
        );
    }
}

#[test]
fn the_shape_check_catches_undocumented_missing_and_mistyped_fields() {
    let fields = shape::documented(REPORT_FORMAT_DOC, "## JSON");
    let (reports, _) = reports();
    let mut value = serde_json::to_value(&reports).unwrap();
    let first = value[0].as_object_mut().unwrap();
    first.insert("surprise".into(), serde_json::json!(1));
    first.remove("seed_missing_is_fine_but_profile_is_not");
    first.remove("profile");
    first.insert("steps_run".into(), serde_json::json!("many"));
    let errors = shape::check(&value, &fields, "");
    assert!(
        errors.iter().any(|e| e.contains("[].surprise")),
        "{errors:#?}"
    );
    assert!(
        errors.iter().any(|e| e.contains("[].profile: required")),
        "{errors:#?}"
    );
    assert!(
        errors
            .iter()
            .any(|e| e.contains("[].steps_run: documented as integer")),
        "{errors:#?}"
    );
}

/// A parsed JUnit element: name, attributes, children, text.
#[derive(Debug, Default)]
struct Node {
    name: String,
    attrs: BTreeMap<String, String>,
    children: Vec<Node>,
    text: String,
}

impl Node {
    fn all(&self, name: &str) -> Vec<&Node> {
        self.children.iter().filter(|c| c.name == name).collect()
    }
    fn one(&self, name: &str) -> Option<&Node> {
        self.children.iter().find(|c| c.name == name)
    }
    fn attr(&self, name: &str) -> &str {
        self.attrs
            .get(name)
            .map(String::as_str)
            .unwrap_or_else(|| panic!("<{}> has no attribute {name}", self.name))
    }
    fn count(&self, name: &str) -> usize {
        self.attr(name).parse().expect("a count")
    }
}

fn parse_xml(text: &str) -> Node {
    let mut reader = Reader::from_str(text);
    let mut stack = vec![Node::default()];
    let element = |e: &quick_xml::events::BytesStart| -> Node {
        let mut node = Node {
            name: String::from_utf8(e.name().as_ref().to_vec()).unwrap(),
            ..Node::default()
        };
        for attr in e.attributes() {
            let attr = attr.expect("well-formed attribute");
            node.attrs.insert(
                String::from_utf8(attr.key.as_ref().to_vec()).unwrap(),
                attr.unescape_value().expect("valid escapes").into_owned(),
            );
        }
        node
    };
    loop {
        match reader.read_event().expect("well-formed XML") {
            Event::Start(e) => stack.push(element(&e)),
            Event::Empty(e) => {
                let node = element(&e);
                stack.last_mut().unwrap().children.push(node);
            }
            Event::End(_) => {
                let node = stack.pop().unwrap();
                stack.last_mut().unwrap().children.push(node);
            }
            Event::Text(t) => {
                let text = t.unescape().expect("valid escapes");
                stack.last_mut().unwrap().text.push_str(&text);
            }
            Event::Eof => break,
            _ => {}
        }
    }
    assert_eq!(stack.len(), 1, "unclosed elements");
    let mut document = stack.pop().unwrap();
    assert_eq!(document.children.len(), 1, "one root element");
    document.children.remove(0)
}

#[test]
fn the_junit_report_parses_back_with_one_testcase_per_rule() {
    let (reports, invocation) = reports();
    let root = parse_xml(&junit(&reports, &invocation));
    assert_eq!(root.name, "testsuites");
    let suites = root.all("testsuite");
    assert_eq!(suites.len(), reports.len());
    let (mut failures, mut skipped, mut tests) = (0, 0, 0);
    for (suite, report) in suites.iter().zip(&reports) {
        assert_eq!(suite.attr("name"), report.profile);
        let cases = suite.all("testcase");
        assert_eq!(cases.len(), rules::all().len());
        assert_eq!(suite.count("tests"), cases.len());
        let failed = cases.iter().filter(|c| c.one("failure").is_some()).count();
        let skips = cases.iter().filter(|c| c.one("skipped").is_some()).count();
        assert_eq!(suite.count("failures"), failed);
        assert_eq!(suite.count("skipped"), skips);
        assert_eq!(suite.count("errors"), 0);
        (failures, skipped, tests) = (failures + failed, skipped + skips, tests + cases.len());
        let properties: BTreeMap<&str, &str> = suite
            .one("properties")
            .expect("properties")
            .all("property")
            .iter()
            .map(|p| (p.attr("name"), p.attr("value")))
            .collect();
        assert_eq!(properties["suite_version"], report.suite_version);
        assert_eq!(properties["spec_edition"], report.spec_edition);
        assert_eq!(properties["profile"], report.profile);
        assert_eq!(properties["seed"], report.config.seed.to_string());
        assert_eq!(properties["target.name"], report.target.name);
        assert_eq!(properties["target.version"], report.target.version);
        for (case, result) in cases.iter().zip(&report.rules) {
            assert_eq!(case.attr("classname"), report.profile);
            assert!(case
                .attr("name")
                .starts_with(&format!("{} — ", result.rule)));
            assert_eq!(
                case.one("failure").is_some(),
                result.verdict.fails_run(),
                "{} {:?}",
                result.rule,
                result.verdict
            );
            assert_eq!(
                case.one("skipped").is_some(),
                !matches!(
                    result.verdict,
                    Verdict::Passed | Verdict::Failed | Verdict::UnexpectedPass
                )
            );
        }
    }
    assert_eq!(root.count("tests"), tests);
    assert_eq!(root.count("failures"), failures);
    assert_eq!(root.count("skipped"), skipped);

    // The failure carries the violation, the minimal sequence and how to replay it.
    let failing = &reports[0];
    let failure = failing.failure.as_ref().unwrap();
    let case = suites[0]
        .all("testcase")
        .into_iter()
        .find(|c| c.attr("name").starts_with(failure.rule.0))
        .unwrap();
    let node = case.one("failure").unwrap();
    assert_eq!(node.attr("message"), failure.detail.replace('\n', " "));
    assert!(node.text.contains("minimal sequence"));
    assert!(node.text.contains("[0] "));
    assert!(node
        .text
        .contains("poolcheck replay poolcheck-failures/reference-msvm-seed7-CAP-002.json"));
    assert!(node.text.contains("deterministic"));
    let properties = suites[0].one("properties").unwrap().all("property");
    assert!(properties
        .iter()
        .any(|p| p.attr("name") == "failure.deterministic" && p.attr("value") == "true"));

    // The unexpected pass names the profile's reason, escaped and unescaped intact.
    let case = suites[1]
        .all("testcase")
        .into_iter()
        .find(|c| c.attr("name").starts_with("CAP-005"))
        .unwrap();
    assert!(case
        .one("failure")
        .unwrap()
        .attr("message")
        .contains("off by one <&> \"quoted\""));
    // The expected failure is skipped with its reason.
    let case = suites[2]
        .all("testcase")
        .into_iter()
        .find(|c| c.attr("name").starts_with("CAP-005"))
        .unwrap();
    assert!(case
        .one("skipped")
        .unwrap()
        .attr("message")
        .contains("refuses exactly the free capacity"));
}

#[test]
fn junit_survives_control_characters_from_an_implementation() {
    let (mut reports, invocation) = reports();
    let failure = reports[0].failure.as_mut().unwrap();
    failure.detail = "bell \u{7} escape \u{1b}[31m nul \u{0} and ]]> <tag>".into();
    let rule = failure.rule;
    let root = parse_xml(&junit(&reports[..1], &invocation));
    let case = root.all("testsuite")[0]
        .all("testcase")
        .into_iter()
        .find(|c| c.one("failure").is_some() && c.attr("name").starts_with(rule.0))
        .unwrap();
    let message = case.one("failure").unwrap().attr("message").to_string();
    assert!(message.contains("]]> <tag>"), "{message}");
    assert!(!message.contains('\u{1b}'));
}

#[test]
fn the_markdown_summary_puts_what_did_not_pass_first() {
    let (reports, invocation) = reports();
    let text = markdown(&reports, &invocation);
    assert!(text.starts_with("## poolcheck: ❌ does not conform"));
    let failing = &reports[0];
    let failure = failing.failure.as_ref().unwrap();
    for needle in [
        format!("seed {}", failing.config.seed),
        failing.suite_version.clone(),
        failing.spec_edition.clone(),
        failing.target.name.clone(),
        "poolcheck replay poolcheck-failures/reference-msvm-seed7-CAP-002.json".to_string(),
        report::rerun_command(failing, &invocation),
        "**deterministic**".to_string(),
        format!("| {} |", failure.rule),
        "UNEXPECTED PASS".to_string(),
        "known divergence: refuses exactly the free capacity".to_string(),
        "off by one <&> \"quoted\"".to_string(),
        "Only rules `CAP,ARG-001` were judged.".to_string(),
    ] {
        assert!(text.contains(&needle), "missing {needle:?} in\n{text}");
    }
    // In the first profile's section, the failed rule's row comes before the full table.
    let section = &text[text.find("### reference-msvm").unwrap()..];
    let failed_row = section.find(&format!("| {} | ", failure.rule)).unwrap();
    let all_rules = section.find("<summary>All ").unwrap();
    assert!(failed_row < all_rules);
    // Pipes in a cell do not break the table.
    assert!(!section
        .lines()
        .any(|l| l.starts_with("| ") && l.matches(" | ").count() > 6));
}

#[test]
fn a_conforming_run_says_so_in_every_format() {
    let report = run_with(
        "reference",
        &Profile::built_in("reference-cim"),
        config(100, 3),
    );
    assert!(report.conforms());
    let invocation = Invocation::new("reference");
    let reports = vec![report];
    assert!(markdown(&reports, &invocation).starts_with("## poolcheck: ✅ conforms"));
    let root = parse_xml(&junit(&reports, &invocation));
    assert_eq!(root.count("failures"), 0);
    assert!(report::summary(&reports[0]).contains("CONFORMS"));
}
