//! Issue 22, Rego resource bounds: one regression test per class of hostile policy. Each
//! must be refused with a clear error within seconds (no hang, no abort, no unbounded
//! allocation).

use std::path::PathBuf;
use std::time::{Duration, Instant};

use serde_json::json;
use vouch_policy::rego::{Limits, Namespaces, PolicySet};

fn load(src: &str, limits: Limits) -> Result<PolicySet, vouch_core::InputError> {
    PolicySet::from_sources_with(vec![(PathBuf::from("bomb.rego"), src.to_string())], limits)
}

fn eval_err(src: &str, limits: Limits) -> vouch_core::InputError {
    let set = load(src, limits).expect("the policy itself is valid");
    set.evaluate("in.json", None, &[json!({})], &[], &Namespaces::Main)
        .expect_err("the bound must stop evaluation")
}

#[test]
fn deep_nesting_is_refused_before_parsing() {
    // The 72-byte shape from the campaign: an array literal 26 deep.
    let src = format!("package main\nx := {}1{}\n", "[".repeat(26), "]".repeat(26));
    let t = Instant::now();
    let e = load(&src, Limits::default()).err().expect("refused");
    assert!(t.elapsed() < Duration::from_secs(5));
    assert!(e.message.contains("nested deeper than 12"), "{e}");
    assert_eq!(e.line, Some(2));
    assert!(
        e.hint.as_deref().unwrap_or("").contains("exponentially"),
        "{e:?}"
    );
    // Objects and calls count too.
    let src = format!(
        "package main\nx := {}1{}\n",
        "{\"a\": ".repeat(20),
        "}".repeat(20)
    );
    assert!(load(&src, Limits::default()).is_err());
    // The deepest accepted nesting still parses (and quickly: the bound is chosen for it).
    let src = format!("package main\nx := {}1{}\n", "[".repeat(12), "]".repeat(12));
    let t = Instant::now();
    load(&src, Limits::default()).expect("depth 12 is accepted");
    eprintln!("depth 12 parsed in {:?}", t.elapsed());
    // Many nests under the depth limit: refused by the total cost, not parsed for minutes.
    let one = format!("x{{}} := {}1{}\n", "[".repeat(12), "]".repeat(12));
    let mut src = String::from("package main\n");
    for i in 0..2000 {
        src.push_str(&one.replace("{}", &i.to_string()));
    }
    let t = Instant::now();
    let e = load(&src, Limits::default()).err().expect("refused");
    assert!(t.elapsed() < Duration::from_secs(5));
    assert!(e.message.contains("parse cost"), "{e}");
}

#[test]
fn huge_range_comprehension_is_refused() {
    // 10^8 elements: 4.6 GiB before the bound.
    let e = eval_err(
        "package main\ndeny contains msg if {\n  n := count([x | some x in numbers.range(1, 100000000)])\n  msg := sprintf(\"%d\", [n])\n}\n",
        Limits::default(),
    );
    assert!(e.message.contains("evaluation budget exceeded"), "{e}");
    assert!(e.message.contains("numbers.range(1, 100000000)"), "{e}");
    let e = eval_err(
        "package main\ndeny contains \"x\" if { count(numbers.range_step(0, 1000000000, 3)) > 0 }\n",
        Limits::default(),
    );
    assert!(e.message.contains("numbers.range_step"), "{e}");
}

#[test]
fn nested_comprehension_hits_the_time_limit() {
    // 10^4 × 10^4 from two small ranges: only the timer can stop it.
    let limits = Limits {
        timeout: Duration::from_millis(500),
        ..Limits::default()
    };
    let t = Instant::now();
    let e = eval_err(
        "package main\ndeny contains msg if {\n  r := numbers.range(1, 10000)\n  n := count([x | some i in r; some j in r; x := i * j])\n  msg := sprintf(\"%d\", [n])\n}\n",
        limits,
    );
    eprintln!("stopped after {:?}: {e}", t.elapsed());
    assert!(e.message.contains("evaluation budget exceeded"), "{e}");
    assert!(e.message.contains("data.main.deny"), "{e}");
    assert!(t.elapsed() < Duration::from_secs(30));
}

#[test]
fn string_bombs_are_refused() {
    // Padding by width: regorus would allocate a 10^12-byte string and abort.
    let e = eval_err(
        "package main\ndeny contains msg if { msg := sprintf(\"%0999999999999d\", [1]) }\n",
        Limits::default(),
    );
    assert!(e.message.contains("sprintf width"), "{e}");
    // Doubling by concat and by replace.
    let mut src = String::from("package main\ndeny contains s40 if {\n  s0 := \"aaaaaaaa\"\n");
    for i in 1..=40 {
        src.push_str(&format!(
            "  s{i} := concat(\"\", [s{}, s{}])\n",
            i - 1,
            i - 1
        ));
    }
    src.push_str("}\n");
    let e = eval_err(&src, Limits::default());
    assert!(e.message.contains("concat would build"), "{e}");
    let mut src = String::from("package main\ndeny contains s20 if {\n  s0 := \"aaaa\"\n");
    for i in 1..=20 {
        src.push_str(&format!(
            "  s{i} := replace(s{}, \"a\", \"aaaaaaaaaa\")\n",
            i - 1
        ));
    }
    src.push_str("}\n");
    let e = eval_err(&src, Limits::default());
    assert!(e.message.contains("replace would build"), "{e}");
}

#[test]
fn bounded_builtins_keep_their_results() {
    let set = load(
        r#"package main
deny contains msg if {
  r := numbers.range(3, 1)
  s := numbers.range_step(0, 10, 4)
  c := concat(", ", {"b", "a"})
  p := replace("a-b-c", "-", "+")
  e := replace("ab", "", ".")
  msg := sprintf("%v %v %s %s %s %.1f %05d", [r, s, c, p, e, 3.14159, 42])
}
"#,
        Limits::default(),
    )
    .unwrap();
    let o = set
        .evaluate("in.json", None, &[json!({})], &[], &Namespaces::Main)
        .unwrap();
    assert_eq!(
        o[0].failures[0].msg,
        "[3, 2, 1] [0, 4, 8] a, b a+b+c .a.b. 3.1 00042"
    );
}
