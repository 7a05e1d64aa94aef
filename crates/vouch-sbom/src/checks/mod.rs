//! `vouch check` integration: the `sbom` check and its rules, one file each.

mod licence;
mod unpinned;

pub use licence::{LICENCE, LicenceOptions};
pub use unpinned::UNPINNED;

use vouch_core::{Check, CheckContext, Config, InputError, Rule, Sink, SourceFile};

/// The `sbom` check.
#[derive(Debug, Default)]
pub struct SbomCheck {
    licence: LicenceOptions,
}

impl Check for SbomCheck {
    fn name(&self) -> &'static str {
        "sbom"
    }

    fn rules(&self) -> Vec<&'static Rule> {
        vec![&UNPINNED, &LICENCE]
    }

    fn configure(&mut self, config: &Config) -> Result<(), InputError> {
        self.licence = config.rule_options::<LicenceOptions>(LICENCE.id)?;
        Ok(())
    }

    fn wants(&self, path: &str) -> bool {
        !self.licence.allow.is_empty() && crate::readers::reader_for(path).is_some()
    }

    fn check_file(
        &self,
        _ctx: &CheckContext<'_>,
        file: &SourceFile<'_>,
        sink: &mut Sink,
    ) -> Result<(), InputError> {
        licence::check(&self.licence, file, sink);
        Ok(())
    }

    fn check_repo(&self, ctx: &CheckContext<'_>, sink: &mut Sink) -> Result<(), InputError> {
        unpinned::check(ctx, sink);
        Ok(())
    }
}
