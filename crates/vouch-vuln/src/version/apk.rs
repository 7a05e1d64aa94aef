//! Alpine (apk) version ordering, a port of apk-tools' `apk_version_compare` token walk:
//! numbers (a leading zero makes a component compare as a fraction), one letter, suffixes
//! `_alpha < _beta < _pre < _rc < (none) < _cvs < _svn < _git < _hg < _p`, then `-rN`.

use std::cmp::Ordering;

use super::VersionError;

/// An Alpine version (kept as text; compared by walking tokens).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApkVersion(String);

impl ApkVersion {
    pub fn parse(text: &str) -> Result<ApkVersion, VersionError> {
        let t = text.trim();
        if t.is_empty()
            || t.len() > 256
            || !t.starts_with(|c: char| c.is_ascii_digit())
            || !t.is_ascii()
            || t.contains(char::is_whitespace)
        {
            return Err(VersionError::new("Alpine", text));
        }
        Ok(ApkVersion(t.to_string()))
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Tok {
    Invalid = -1,
    DigitOrZero = 0,
    Digit,
    Letter,
    Suffix,
    SuffixNo,
    RevisionNo,
    End,
}

struct Blob<'a> {
    s: &'a [u8],
}

impl Blob<'_> {
    fn advance(&mut self, n: usize) {
        self.s = &self.s[n.min(self.s.len())..];
    }
}

fn next_token(t: &mut Tok, b: &mut Blob<'_>) {
    let mut n = Tok::Invalid;
    if b.s.is_empty() {
        n = Tok::End;
    } else if matches!(*t, Tok::Digit | Tok::DigitOrZero) && b.s[0].is_ascii_lowercase() {
        n = Tok::Letter;
    } else if *t == Tok::Letter && b.s[0].is_ascii_digit() {
        n = Tok::Digit;
    } else if *t == Tok::Suffix && b.s[0].is_ascii_digit() {
        n = Tok::SuffixNo;
    } else {
        match b.s[0] {
            b'.' => n = Tok::DigitOrZero,
            b'_' => n = Tok::Suffix,
            b'-' if b.s.len() > 1 && b.s[1] == b'r' => {
                n = Tok::RevisionNo;
                b.advance(1);
            }
            _ => {}
        }
        b.advance(1);
    }
    if n < *t
        && !((n == Tok::DigitOrZero && *t == Tok::Digit)
            || (n == Tok::Digit && *t == Tok::Letter)
            || (n == Tok::Digit && *t == Tok::SuffixNo))
    {
        n = Tok::Invalid;
    }
    *t = n;
}

const PRE: [&[u8]; 4] = [b"alpha", b"beta", b"pre", b"rc"];
const POST: [&[u8]; 5] = [b"cvs", b"svn", b"git", b"hg", b"p"];

fn get_token(t: &mut Tok, b: &mut Blob<'_>) -> i64 {
    if b.s.is_empty() {
        *t = Tok::End;
        return 0;
    }
    let mut v: i64 = 0;
    let mut i = 0usize;
    let mut nt = Tok::Invalid;
    let digits = |i: &mut usize, v: &mut i64, s: &[u8]| {
        while *i < s.len() && s[*i].is_ascii_digit() {
            *v = v.saturating_mul(10).saturating_add(i64::from(s[*i] - b'0'));
            *i += 1;
        }
    };
    match *t {
        Tok::DigitOrZero if b.s[0] == b'0' => {
            while i < b.s.len() && b.s[i] == b'0' {
                i += 1;
            }
            nt = Tok::Digit;
            v = -(i as i64);
        }
        Tok::DigitOrZero | Tok::Digit | Tok::SuffixNo | Tok::RevisionNo => {
            digits(&mut i, &mut v, b.s)
        }
        Tok::Letter => {
            v = i64::from(b.s[0]);
            i = 1;
        }
        Tok::Suffix => {
            if let Some(k) = PRE.iter().position(|p| b.s.starts_with(p)) {
                i = PRE[k].len();
                v = k as i64 - PRE.len() as i64;
            } else if let Some(k) = POST.iter().position(|p| b.s.starts_with(p)) {
                i = POST[k].len();
                v = k as i64;
            } else {
                *t = Tok::Invalid;
                return -1;
            }
        }
        _ => {
            *t = Tok::Invalid;
            return -1;
        }
    }
    b.advance(i);
    if b.s.is_empty() {
        *t = Tok::End;
    } else if nt != Tok::Invalid {
        *t = nt;
    } else {
        next_token(t, b);
    }
    v
}

fn compare(a: &str, b: &str) -> Ordering {
    let (mut at, mut bt) = (Tok::Digit, Tok::Digit);
    let (mut av, mut bv) = (0i64, 0i64);
    let mut ab = Blob { s: a.as_bytes() };
    let mut bb = Blob { s: b.as_bytes() };
    while at == bt && at != Tok::End && at != Tok::Invalid && av == bv {
        av = get_token(&mut at, &mut ab);
        bv = get_token(&mut bt, &mut bb);
    }
    if av != bv {
        return av.cmp(&bv);
    }
    if at == bt {
        return Ordering::Equal;
    }
    let mut tt = at;
    if at == Tok::Suffix && get_token(&mut tt, &mut ab) < 0 {
        return Ordering::Less;
    }
    let mut tt = bt;
    if bt == Tok::Suffix && get_token(&mut tt, &mut bb) < 0 {
        return Ordering::Greater;
    }
    if at > bt {
        return Ordering::Less;
    }
    if bt > at {
        return Ordering::Greater;
    }
    Ordering::Equal
}

impl PartialOrd for ApkVersion {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for ApkVersion {
    fn cmp(&self, other: &Self) -> Ordering {
        compare(&self.0, &other.0)
    }
}

#[cfg(test)]
mod tests {
    use super::super::{Scheme, testutil::check_vectors};

    /// A selection from apk-tools' `test/version.data`.
    #[test]
    fn apk_vectors() {
        check_vectors(
            Scheme::Apk,
            "2.34 > 0.1.0_alpha\n0.1.0_alpha = 0.1.0_alpha\n0.1.0_alpha < 0.1.3_alpha\n\
             0.1.0_alpha2 > 0.1.0_alpha\n0.1.0_alpha < 2.2.39-r1\n1.0.4-r3 < 1.0.4-r4\n\
             1.1 > 1.1_alpha1\n1.2.1 > 1.2\n1.3_alpha < 1.3_alpha2\n0.8_beta1 < 0.8_beta2\n\
             3.10.18-r1 > 2.3.0b-r1\n2.3.0b-r1 < 2.3.0b-r2\n0.12.3 > 0.12\n0.12 < 0.13_beta1\n\
             3.1_p16 < 3.1_p17\n1.06-r6 < 006\n006 > 1.0.0\n1.2.2-r1 > 1.2.2\n\
             2.59 < 20050718-r1\n3.9.8-r5 > 2.01.01_alpha10\n1.0 > 0.99.3.20040818\n\
             1.2.12.1 < 1.2.13\n2.5.1-r8 < 2.5.1a-r1\n3.0.0-r2 < 021109-r3\n\
             3.9_pre20060124 > 0.01\n0.10.0-r1 > 0.10.0\n0.10.0 < 0.10.1_rc1\n1.7 < 1.7b\n\
             1.8.5 < 1.8.5_p2\n0.9.28.1 < 087-r1\n4.5_p1-r1 > 4.5_p1\n0.9.8c-r1 < 0.9.8d\n\
             1.3-r0 < 1.3.1-r0\n1.3_pre1-r1 < 1.3.2\n1.0_p10-r0 > 1.0_p9-r0\n\
             1.0.0_pre20191002222144-r0 < 1.0.0_pre20210530193627-r0\n2.1_pre20 < 2.1_pre26\n\
             7.0.17 < 7.0.174\n22.7-r1 < 22.7.3-r1",
        );
    }

    proptest::proptest! {
        #[test]
        fn never_panics(a in "[0-9][0-9a-z._-]{0,20}", b in "[0-9][0-9a-z._-]{0,20}") {
            let _ = super::super::compare(Scheme::Apk, &a, &b);
        }
    }
}
