//! Property tests: malformed workflow input gives an error or findings, never a panic.

use proptest::prelude::*;
use vouch_workflow::{FileKind, Settings, audit};

const SEED: &str = "name: ci
on:
  pull_request_target:
permissions: write-all
jobs:
  build:
    runs-on: ubuntu-latest
    env:
      AWS_SECRET_ACCESS_KEY: ${{ secrets.AWS_SECRET_ACCESS_KEY }}
    steps:
      - &co
        uses: actions/checkout@v4
        with:
          ref: ${{ github.event.pull_request.head.sha }}
      - uses: foo/bar@v1
      - uses: actions/cache@v4
        with:
          key: k
      - run: |
          echo \"${{ github.event.issue.title }}\"
          kubectl apply -f x
  other: { steps: [ *co, { run: 'echo ${{ github.head_ref }}' } ] }
";

fn check(text: &str) {
    for kind in [FileKind::Workflow, FileKind::Action] {
        if let Err(e) = audit("t.yml", text, kind, &Settings::default()) {
            assert!(e.line.is_some(), "error without a line: {e}");
            assert!(!e.message.is_empty());
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn arbitrary_text_never_panics(s in "\\PC{0,200}") {
        check(&s);
    }

    #[test]
    fn yaml_ish_text_never_panics(s in "[a-z:\\-\\[\\]{}&*!|>'\"$#, \\n]{0,200}") {
        check(&s);
    }

    #[test]
    fn mutated_workflows_never_panic(at in 0usize..SEED.len(), cut in 0usize..40, insert in "[\\PC\\n]{0,8}") {
        let mut s = SEED.to_string();
        let at = (0..=at).rev().find(|i| s.is_char_boundary(*i)).unwrap_or(0);
        let end = (at + cut).min(s.len());
        let end = (end..=s.len()).find(|i| s.is_char_boundary(*i)).unwrap_or(s.len());
        s.replace_range(at..end, &insert);
        check(&s);
    }
}

#[test]
fn seed_is_valid_and_fires() {
    let f = audit(
        ".github/workflows/ci.yml",
        SEED,
        FileKind::Workflow,
        &Settings::default(),
    )
    .expect("valid");
    assert!(f.len() >= 6, "{f:#?}");
}
