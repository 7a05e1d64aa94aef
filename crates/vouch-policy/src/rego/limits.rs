//! Resource bounds for Rego: policies and inputs come from the repository under review, so a
//! policy must not be able to hang or exhaust the machine that checks it.
//!
//! - **Parsing**: regorus 0.14's parser takes time exponential in the nesting depth of
//!   brackets (a 72-byte file with an array literal 26 deep does not finish). Before a module
//!   reaches regorus, [`check_nesting`] scans it (comments and strings skipped) and refuses a
//!   depth above [`Limits::max_nesting`]; real policies stay far below it.
//! - **Time**: regorus's cooperative execution timer (`Engine::set_execution_timer_config`),
//!   checked throughout the interpreter's loops, bounds every query to [`Limits::timeout`].
//! - **Memory**: the builtins that build large values from small arguments are replaced by
//!   bounded versions, registered as regorus extensions (which regorus looks up before its
//!   builtins): `numbers.range` / `numbers.range_step` (at most [`Limits::max_range`]
//!   elements), `concat` and `replace` (results of at most [`Limits::max_string_bytes`]), and
//!   `sprintf` (widths and precisions above 1,000,000, the bound Go's `fmt` and so OPA apply,
//!   are refused instead of being padded out). Everything else is bounded by time only: a
//!   policy that grows values slowly through other builtins is stopped by the timer, but can
//!   allocate in the meantime (see docs/policy.md, "Resource bounds").

use std::num::NonZeroU32;
use std::path::Path;
use std::time::Duration;

use regorus::Value;
use vouch_core::InputError;

/// Prefix of every error raised by a bound, so callers can tell a budget from a bug.
pub const BUDGET: &str = "evaluation budget exceeded";

/// The bounds applied to parsing and evaluating Rego.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Deepest nesting of array and object/set brackets (`[`, `{`) accepted in a module.
    pub max_nesting: usize,
    /// Wall-clock time allowed for one query (one rule on one input document).
    pub timeout: Duration,
    /// Largest array `numbers.range` / `numbers.range_step` may build.
    pub max_range: u64,
    /// Largest string `concat`, `replace` and `sprintf` may build, in bytes.
    pub max_string_bytes: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_nesting: 12,
            timeout: Duration::from_secs(10),
            max_range: 1_000_000,
            max_string_bytes: 64 << 20,
        }
    }
}

/// Go's `fmt` refuses widths and precisions above this (`%!(BADWIDTH)`).
const MAX_FMT_WIDTH: u64 = 1_000_000;

/// Refuses a module the Rego parser cannot parse in bounded time, before the source reaches
/// regorus: array and object/set brackets (`[`, `{`) nested deeper than `max`, any brackets
/// nested deeper than [`MAX_ANY_NESTING`] (recursion depth), or a file whose bracket
/// openings cost more than [`MAX_PARSE_COST`] in total, an opening at depth `d` costing `2^d`
/// (the parser's time for one nest of depth `d`). Comments and strings are skipped.
pub fn check_nesting(path: &Path, src: &str, max: usize) -> Result<(), InputError> {
    let bytes = src.as_bytes();
    // Stack of open brackets: true for `[`/`{` (the exponential kinds).
    let mut stack: Vec<bool> = Vec::new();
    let (mut square_curly, mut cost) = (0usize, 0u64);
    let (mut line, mut col) = (1u32, 0u32);
    let err = |line: u32, col: u32, message: String| InputError {
        file: Some(path.to_path_buf()),
        line: Some(line),
        column: Some(col),
        message,
        hint: Some(
            "vouch refuses this because the Rego parser's time grows exponentially with nesting; \
             flatten the expression (name the inner values)"
                .into(),
        ),
    };
    let mut i = 0;
    while i < bytes.len() {
        let c = bytes[i];
        col += 1;
        match c {
            b'\n' => {
                line += 1;
                col = 0;
            }
            b'#' => {
                while i + 1 < bytes.len() && bytes[i + 1] != b'\n' {
                    i += 1;
                }
            }
            b'"' => {
                i += 1;
                while i < bytes.len() && bytes[i] != b'"' && bytes[i] != b'\n' {
                    if bytes[i] == b'\\' {
                        i += 1;
                    }
                    i += 1;
                }
            }
            b'`' => {
                i += 1;
                while i < bytes.len() && bytes[i] != b'`' {
                    if bytes[i] == b'\n' {
                        line += 1;
                        col = 0;
                    }
                    i += 1;
                }
            }
            b'(' | b'[' | b'{' => {
                let exp = c != b'(';
                stack.push(exp);
                if stack.len() > MAX_ANY_NESTING {
                    return Err(err(
                        line,
                        col,
                        format!("brackets nested deeper than {MAX_ANY_NESTING} levels"),
                    ));
                }
                if exp {
                    square_curly += 1;
                    if square_curly > max {
                        return Err(err(
                            line,
                            col,
                            format!("array/object brackets nested deeper than {max} levels"),
                        ));
                    }
                    cost = cost.saturating_add(1u64 << square_curly.min(63));
                    if cost > MAX_PARSE_COST {
                        return Err(err(
                            line,
                            col,
                            format!(
                                "too much bracket nesting for one module (parse cost above {MAX_PARSE_COST})"
                            ),
                        ));
                    }
                }
            }
            // The guard pops for every closing bracket; only [/{ lower the depth.
            b')' | b']' | b'}' if stack.pop() == Some(true) => {
                square_curly = square_curly.saturating_sub(1);
            }
            _ => {}
        }
        i += 1;
    }
    Ok(())
}

/// Deepest nesting of any brackets (parentheses included): the parser recurses per level.
pub const MAX_ANY_NESTING: usize = 64;
/// Total parse cost of one module: about 16 nests of the deepest accepted kind.
pub const MAX_PARSE_COST: u64 = 1 << 17;

/// Applies the time limit and registers the bounded builtins on `engine`.
pub fn install(engine: &mut regorus::Engine, limits: &Limits) -> Result<(), InputError> {
    let interval = NonZeroU32::new(64).unwrap_or(NonZeroU32::MIN);
    engine.set_execution_timer_config(regorus::utils::limits::ExecutionTimerConfig {
        limit: limits.timeout,
        check_interval: interval,
    });
    let l = *limits;
    let add =
        |engine: &mut regorus::Engine, name: &str, n: u8, ext: Box<dyn regorus::Extension>| {
            engine
                .add_extension(name.to_string(), n, ext)
                .map_err(|e| InputError::new(format!("cannot bound builtin {name}: {e}")))
        };
    add(
        engine,
        "numbers.range",
        2,
        Box::new(move |args: Vec<Value>| range(&args, None, &l)),
    )?;
    add(
        engine,
        "numbers.range_step",
        3,
        Box::new(move |args: Vec<Value>| {
            let step = args.get(2).cloned().unwrap_or(Value::Undefined);
            range(&args, Some(step), &l)
        }),
    )?;
    add(
        engine,
        "concat",
        2,
        Box::new(move |args: Vec<Value>| concat(&args, &l)),
    )?;
    add(
        engine,
        "replace",
        3,
        Box::new(move |args: Vec<Value>| replace(&args, &l)),
    )?;
    // regorus's own sprintf, reached through a private engine holding one rule.
    let mut inner = regorus::Engine::new();
    inner
        .add_policy(
            "vouch-sprintf.rego".to_string(),
            "package vouch_sprintf\nr := sprintf(input[0], input[1])\n".to_string(),
        )
        .map_err(|e| InputError::new(format!("cannot bound builtin sprintf: {e}")))?;
    add(
        engine,
        "sprintf",
        2,
        Box::new(move |args: Vec<Value>| sprintf(&mut inner, args)),
    )?;
    Ok(())
}

fn integer(name: &str, pos: usize, v: Option<&Value>) -> anyhow::Result<Option<i64>> {
    match v {
        Some(Value::Number(n)) => {
            if !n.is_integer() {
                return Ok(None);
            }
            match n.as_i64() {
                Some(i) => Ok(Some(i)),
                None => anyhow::bail!("{BUDGET}: {name}: operand {pos} is out of range"),
            }
        }
        _ => anyhow::bail!("{name}: operand {pos} must be a number"),
    }
}

fn range(args: &[Value], step: Option<Value>, l: &Limits) -> anyhow::Result<Value> {
    let name = if step.is_some() {
        "numbers.range_step"
    } else {
        "numbers.range"
    };
    let (Some(a), Some(b)) = (
        integer(name, 1, args.first())?,
        integer(name, 2, args.get(1))?,
    ) else {
        return Ok(Value::Undefined);
    };
    let step = match step {
        None => 1i128,
        Some(s) => match integer(name, 3, Some(&s))? {
            Some(s) if s > 0 => i128::from(s),
            Some(_) => anyhow::bail!("{name}: step must be a positive integer"),
            None => return Ok(Value::Undefined),
        },
    };
    let span = (i128::from(b) - i128::from(a)).abs();
    let count = span / step + 1;
    if count > i128::from(l.max_range) {
        anyhow::bail!(
            "{BUDGET}: {name}({a}, {b}) would build {count} elements (limit {})",
            l.max_range
        );
    }
    let dir: i128 = if b >= a { 1 } else { -1 };
    let mut out = Vec::with_capacity(usize::try_from(count).unwrap_or(0));
    let mut v = i128::from(a);
    for _ in 0..count {
        // Every element lies between a and b, so it fits in i64.
        out.push(Value::from(i64::try_from(v).unwrap_or(b)));
        v += dir * step;
    }
    Ok(Value::from(out))
}

fn string<'a>(name: &str, pos: usize, v: Option<&'a Value>) -> anyhow::Result<&'a str> {
    match v {
        Some(Value::String(s)) => Ok(s),
        _ => anyhow::bail!("{name}: operand {pos} must be string"),
    }
}

fn concat(args: &[Value], l: &Limits) -> anyhow::Result<Value> {
    let delim = string("concat", 1, args.first())?;
    let items: Vec<&Value> = match args.get(1) {
        Some(Value::Array(a)) => a.iter().collect(),
        Some(Value::Set(s)) => s.iter().collect(),
        _ => anyhow::bail!("concat: operand 2 must be array or set"),
    };
    let mut parts = Vec::with_capacity(items.len());
    let mut len = delim.len().saturating_mul(items.len().saturating_sub(1));
    for item in items {
        let s = string("concat", 2, Some(item))
            .map_err(|_| anyhow::anyhow!("concat: operand 2 must contain only strings"))?;
        len = len.saturating_add(s.len());
        parts.push(s);
    }
    if len > l.max_string_bytes {
        anyhow::bail!(
            "{BUDGET}: concat would build a string of {len} bytes (limit {})",
            l.max_string_bytes
        );
    }
    Ok(Value::from(parts.join(delim)))
}

fn replace(args: &[Value], l: &Limits) -> anyhow::Result<Value> {
    let s = string("replace", 1, args.first())?;
    let old = string("replace", 2, args.get(1))?;
    let new = string("replace", 3, args.get(2))?;
    let hits = if old.is_empty() {
        s.chars().count() + 1
    } else {
        s.matches(old).count()
    };
    let len = (s.len() - hits.saturating_mul(old.len()).min(s.len()))
        .saturating_add(hits.saturating_mul(new.len()));
    if len > l.max_string_bytes {
        anyhow::bail!(
            "{BUDGET}: replace would build a string of {len} bytes (limit {})",
            l.max_string_bytes
        );
    }
    Ok(Value::from(s.replace(old, new)))
}

/// The width and precision numbers of a format string (`%08.3f` → 8, 3).
fn widths(format: &str) -> impl Iterator<Item = u64> + '_ {
    let mut out = Vec::new();
    let b = format.as_bytes();
    let mut i = 0;
    while i < b.len() {
        if b[i] != b'%' {
            i += 1;
            continue;
        }
        i += 1;
        while i < b.len() && matches!(b[i], b'-' | b'+' | b'#' | b' ' | b'0') {
            i += 1;
        }
        let mut n: u64 = 0;
        let mut any = false;
        while i < b.len() && (b[i].is_ascii_digit() || b[i] == b'.') {
            if b[i] == b'.' {
                if any {
                    out.push(n);
                }
                n = 0;
                any = false;
            } else {
                n = n.saturating_mul(10).saturating_add(u64::from(b[i] - b'0'));
                any = true;
            }
            i += 1;
        }
        if any {
            out.push(n);
        }
        i += 1;
    }
    out.into_iter()
}

/// `sprintf` with widths bounded, evaluated by regorus's own builtin in a private engine.
fn sprintf(inner: &mut regorus::Engine, args: Vec<Value>) -> anyhow::Result<Value> {
    if let Some(Value::String(f)) = args.first()
        && let Some(w) = widths(f).find(|w| *w > MAX_FMT_WIDTH)
    {
        anyhow::bail!("{BUDGET}: sprintf width or precision {w} (limit {MAX_FMT_WIDTH})");
    }
    inner.set_input(Value::from(args));
    inner.eval_rule("data.vouch_sprintf.r".to_string())
}

/// Whether an error (anywhere in its chain) came from a bound.
pub fn is_budget(e: &anyhow::Error) -> bool {
    e.chain().any(|c| {
        c.downcast_ref::<regorus::utils::limits::LimitError>()
            .is_some()
            || c.to_string().contains(BUDGET)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nesting_is_counted_outside_strings_and_comments() {
        let p = Path::new("p.rego");
        let deep = format!("package p\nx := {}1{}\n", "[".repeat(13), "]".repeat(13));
        let e = check_nesting(p, &deep, 12).unwrap_err();
        assert_eq!((e.line, e.column), (Some(2), Some(18)));
        let ok = format!("package p\nx := {}1{}\n", "[".repeat(12), "]".repeat(12));
        assert!(check_nesting(p, &ok, 12).is_ok());
        // Parentheses are cheap for the parser: only their recursion depth is bounded.
        let parens = format!("package p\nx := {}1{}\n", "(".repeat(40), ")".repeat(40));
        assert!(check_nesting(p, &parens, 12).is_ok());
        let parens = format!("package p\nx := {}1{}\n", "(".repeat(65), ")".repeat(65));
        assert!(check_nesting(p, &parens, 12).is_err());
        // Many nests each under the depth limit add up.
        let many = format!(
            "package p\n{}",
            format!("x := {}1{}\n", "[".repeat(12), "]".repeat(12)).repeat(20)
        );
        let e = check_nesting(p, &many, 12).unwrap_err();
        assert!(e.message.contains("parse cost"), "{e}");
        let some = format!(
            "package p\n{}",
            format!("x := {}1{}\n", "[".repeat(12), "]".repeat(12)).repeat(10)
        );
        assert!(check_nesting(p, &some, 12).is_ok());
        let quoted = format!(
            "package p\n# {}\ns := \"{}\"\nr := `{}`\n",
            "[".repeat(40),
            "{".repeat(40),
            "(".repeat(40)
        );
        assert!(check_nesting(p, &quoted, 12).is_ok());
    }

    #[test]
    fn sprintf_widths_are_found() {
        assert_eq!(
            widths("%08.3f %d %%5 %-20s").collect::<Vec<_>>(),
            vec![8, 3, 20]
        );
        assert_eq!(
            widths("%0999999999999d").collect::<Vec<_>>(),
            vec![999_999_999_999]
        );
    }
}
