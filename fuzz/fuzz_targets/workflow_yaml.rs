#![no_main]
//! GitHub Actions workflow and action YAML, through the span-carrying model.
use libfuzzer_sys::fuzz_target;
use vouch_workflow::FileKind;
fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        let _ =
            vouch_workflow::Document::parse(".github/workflows/ci.yml", FileKind::Workflow, text);
        let _ =
            vouch_workflow::Document::parse("action.yml", FileKind::of_path("action.yml"), text);
    }
});
