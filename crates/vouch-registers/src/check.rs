//! The `registers` check of `vouch check`: loads the registers under `security/` and runs
//! their gates. A malformed register is bad input (exit 2), as in `vouch register lint`.

use vouch_core::check::{Check, CheckContext, Sink};
use vouch_core::{Config, InputError, Rule};

use crate::{GateContext, RegistersConfig, gates, lint, load_all};

#[derive(Debug, Default)]
pub struct RegistersCheck {
    config: RegistersConfig,
}

impl Check for RegistersCheck {
    fn name(&self) -> &'static str {
        "registers"
    }

    fn rules(&self) -> Vec<&'static Rule> {
        gates::rules()
    }

    fn configure(&mut self, config: &Config) -> Result<(), InputError> {
        self.config = config.section("registers")?;
        Ok(())
    }

    fn check_repo(&self, ctx: &CheckContext<'_>, sink: &mut Sink) -> Result<(), InputError> {
        if !ctx.root.is_dir() {
            return Ok(());
        }
        let dir = self.config.dir();
        let registers = load_all(ctx.root, dir)?;
        let gate = GateContext {
            today: ctx.today,
            allowed_licences: self.config.allowed_licences.clone(),
        };
        for f in lint(&registers, dir, &gate) {
            sink.push(f);
        }
        Ok(())
    }
}
