//! AI platforms: OpenAI, Anthropic, Hugging Face, Replicate, Groq, Perplexity.
//!
//! Examples are assembled with `concat!` from fragments so that this source file holds no
//! string that a secret scanner (ours included) would report.

use crate::rule::SecretRule;
use crate::secret_rule;

pub const RULES: &[SecretRule] = &[
    secret_rule! {
        id: "secrets/openai-api-key",
        severity: Critical,
        summary: "OpenAI API key",
        regex: r##"\b(?P<secret>sk-(?:proj-|svcacct-|admin-)?[A-Za-z0-9_\-]{20,74}T3BlbkFJ[A-Za-z0-9_\-]{20,74})(?:[^A-Za-z0-9_\-]|$)"##,
        keywords: &["t3blbkfj"],
        entropy: 3.5,
        validator: None,
        examples: &[concat!("sk-proj-", "4FfsIBOp", "u3hOLMna", "RoCXM5F-", "ay_W3ci4", "iLrfktIH", "T3BlbkFJ", "VbxSs9mL", "GVVh7hYQ", "pzvP6kl4", "SDN8jYzx", "kViu1rJI")],
        counter: &["sk-proj-your-key-here"],
    },
    secret_rule! {
        id: "secrets/anthropic-api-key",
        severity: Critical,
        summary: "Anthropic API key",
        regex: r##"\b(?P<secret>sk-ant-api03-[A-Za-z0-9_\-]{93}AA)(?:[^A-Za-z0-9_\-]|$)"##,
        keywords: &["sk-ant-api"],
        entropy: 3.5,
        validator: None,
        examples: &[concat!("sk-ant-a", "pi03-rfH", "TZYh9MV5", "kzDD1Pyt", "Vi449830", "XU7r1-Yr", "we9Rn8dm", "Ve7orzaC", "jIo_rkb-", "xffirv-e", "07bAEj-3", "dq0zesHf", "8P0ppM-S", "orAA")],
        counter: &["sk-ant-api03-xxxx"],
    },
    secret_rule! {
        id: "secrets/anthropic-admin-key",
        severity: Critical,
        summary: "Anthropic admin API key",
        regex: r##"\b(?P<secret>sk-ant-admin01-[A-Za-z0-9_\-]{93}AA)(?:[^A-Za-z0-9_\-]|$)"##,
        keywords: &["sk-ant-admin"],
        entropy: 3.5,
        validator: None,
        examples: &[concat!("sk-ant-a", "dmin01-d", "egKDAFgL", "sXdGd5ZU", "4mjdfAXL", "5_K_p2Kl", "FVSOmFTh", "PlQKeLc9", "eyhoTU0x", "wd7lOm-u", "4WhEKF4V", "snm0jw--", "RmA--39D", "LqcgAA")],
        counter: &["sk-ant-admin01-xxxx"],
    },
    secret_rule! {
        id: "secrets/huggingface-token",
        severity: High,
        summary: "Hugging Face access token",
        regex: r##"\b(?P<secret>hf_[A-Za-z]{34})\b"##,
        keywords: &["hf_"],
        entropy: 3.5,
        validator: None,
        examples: &[concat!("hf_VCVGr", "IINfMlbk", "hzuDWpxQ", "YLYPdynm", "VklZe")],
        counter: &["hf_hub_download_cache_directory_here", "hf_xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"],
    },
    secret_rule! {
        id: "secrets/replicate-api-token",
        severity: High,
        summary: "Replicate API token",
        regex: r##"\b(?P<secret>r8_[A-Za-z0-9]{37})\b"##,
        keywords: &["r8_"],
        entropy: 3.5,
        validator: None,
        examples: &[concat!("r8_eT6n9", "rht2rxI7", "f2Xbf2Pt", "zNa8bD4d", "RnPMZ8Nu")],
        counter: &["r8_xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"],
    },
    secret_rule! {
        id: "secrets/groq-api-key",
        severity: High,
        summary: "Groq API key",
        regex: r##"\b(?P<secret>gsk_[A-Za-z0-9]{52})\b"##,
        keywords: &["gsk_"],
        entropy: 3.5,
        validator: None,
        examples: &[concat!("gsk_3hxs", "WLLhkBfC", "IxMBTtWh", "0on9yMSS", "tHicQFto", "TjRQAULv", "tpIzbfas")],
        counter: &["gsk_short"],
    },
    secret_rule! {
        id: "secrets/perplexity-api-key",
        severity: High,
        summary: "Perplexity API key",
        regex: r##"\b(?P<secret>pplx-[A-Za-z0-9]{48})\b"##,
        keywords: &["pplx-"],
        entropy: 3.5,
        validator: None,
        examples: &[concat!("pplx-4Mj", "jV84ytrZ", "k60FhCXQ", "6uKAKPDt", "uwgDMmjM", "Zd0OQ8nb", "fZKwg")],
        counter: &["pplx-xxxx"],
    },
];
