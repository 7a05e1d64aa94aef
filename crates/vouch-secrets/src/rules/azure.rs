//! Microsoft Azure: storage connection strings, SAS signatures, Entra ID client secrets.
//!
//! Examples are assembled with `concat!` from fragments so that this source file holds no
//! string that a secret scanner (ours included) would report.

use crate::rule::SecretRule;
use crate::secret_rule;

pub const RULES: &[SecretRule] = &[
    secret_rule! {
        id: "secrets/azure-storage-key",
        severity: Critical,
        summary: "Azure storage account key in a connection string",
        regex: r##"(?i)AccountKey=(?P<secret>[A-Za-z0-9+/]{86}==)"##,
        keywords: &["accountkey="],
        entropy: 4.0,
        validator: None,
        examples: &[concat!("DefaultE", "ndpoints", "Protocol", "=https;A", "ccountNa", "me=demof", "cnt;Acco", "untKey=n", "sQ77aQWM", "WFpIMDp6", "dYlhe30D", "IWGxvd86", "13i/lTXt", "pdj3kWmq", "cz3EUIhC", "hyWmpy4/", "SfRgYEdy", "LDDx/cWF", "vrVqg==;", "Endpoint", "Suffix=c", "ore.wind", "ows.net")],
        counter: &["DefaultEndpointsProtocol=https;AccountName=x;AccountKey=<key>", "UseDevelopmentStorage=true"],
    },
    secret_rule! {
        id: "secrets/azure-sas-token",
        severity: High,
        summary: "Azure shared access signature (SAS) with signature",
        regex: r##"(?i)[?&]sv=\d{4}-\d\d-\d\d&[^\s\"'<>]{0,300}?\bsig=(?P<secret>[A-Za-z0-9%+/]{40,100}(?:%3D|=){0,2})"##,
        keywords: &["sig="],
        entropy: 3.5,
        validator: None,
        examples: &[concat!("https://", "demo.blo", "b.core.w", "indows.n", "et/c?sv=", "2022-11-", "02&ss=b&", "srt=co&s", "p=rl&se=", "2030-01-", "01T00:00", ":00Z&st=", "2024-01-", "01T00:00", ":00Z&spr", "=https&s", "ig=Whnwv", "kU06pl9l", "oOi3EV7D", "NhUNiDZm", "KxUjvOq6", "erWad4%3", "D")],
        counter: &["https://x.blob.core.windows.net/c?sv=2022-11-02&sig=<signature>"],
    },
    secret_rule! {
        id: "secrets/azure-ad-client-secret",
        severity: High,
        summary: "Microsoft Entra ID (Azure AD) client secret",
        regex: r##"(?:^|[^A-Za-z0-9_~.\-])(?P<secret>[A-Za-z0-9_~.]{3}\dQ~[A-Za-z0-9_~.\-]{31,34})(?:[^A-Za-z0-9_~.\-]|$)"##,
        keywords: &["q~"],
        entropy: 3.5,
        validator: None,
        examples: &[concat!("client_s", "ecret = ", "\"PbE7Q~O", "hbJmXRnV", "ssV8Zctn", "5Vbq9Hj9", "pZzv4QGS", "L\"")],
        counter: &["abc1Q~short"],
    },
];
