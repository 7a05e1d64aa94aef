//! Repository hygiene rules (`repo/*`): properties of the repository as a whole.

mod security_md;

pub use security_md::SECURITY_MD;

use crate::check::{Check, CheckContext, Sink};
use crate::{InputError, Rule};

/// The `repo` check: whole-repository hygiene.
#[derive(Debug, Default)]
pub struct RepoCheck;

impl Check for RepoCheck {
    fn name(&self) -> &'static str {
        "repo"
    }

    fn rules(&self) -> Vec<&'static Rule> {
        vec![&SECURITY_MD]
    }

    fn check_repo(&self, ctx: &CheckContext<'_>, sink: &mut Sink) -> Result<(), InputError> {
        security_md::check(ctx, sink);
        Ok(())
    }
}
