//! The seven registers of the security mini-spec and their fields.
//!
//! Field names follow the mini-spec; headers are matched after folding case and dropping
//! everything but letters and digits (`Asset/Data Flow` = `AssetDataFlow` = `asset data flow`),
//! plus the aliases listed per field (the spec's CSV starters abbreviate some headers).

/// The kind of values a field holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Text,
    /// One of the listed values; `synonyms` maps accepted spellings to canonical values.
    Enum {
        values: &'static [&'static str],
        synonyms: &'static [(&'static str, &'static str)],
    },
    /// `YYYY-MM-DD`.
    Date,
    /// A whole number of days.
    Days,
}

/// One column of a register.
#[derive(Debug, Clone, Copy)]
pub struct FieldSpec {
    /// Canonical header, as the mini-spec writes it.
    pub name: &'static str,
    /// Other accepted headers.
    pub aliases: &'static [&'static str],
    pub kind: Kind,
    /// Optional columns may be absent from the file altogether.
    pub optional: bool,
}

const fn text(name: &'static str, aliases: &'static [&'static str]) -> FieldSpec {
    FieldSpec {
        name,
        aliases,
        kind: Kind::Text,
        optional: false,
    }
}

const fn opt(mut f: FieldSpec) -> FieldSpec {
    f.optional = true;
    f
}

const LEVELS: Kind = Kind::Enum {
    values: &["Low", "Medium", "High"],
    synonyms: &[
        ("Med", "Medium"),
        ("Mid", "Medium"),
        ("L", "Low"),
        ("M", "Medium"),
        ("H", "High"),
    ],
};

const ID: FieldSpec = opt(text("ID", &[]));

/// One register of the mini-spec.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum RegisterKind {
    D1,
    D2,
    D3,
    D4,
    D5,
    D6,
    D7,
}

impl RegisterKind {
    pub const ALL: [RegisterKind; 7] = [
        RegisterKind::D1,
        RegisterKind::D2,
        RegisterKind::D3,
        RegisterKind::D4,
        RegisterKind::D5,
        RegisterKind::D6,
        RegisterKind::D7,
    ];

    /// `D1` … `D7`.
    pub fn code(self) -> &'static str {
        match self {
            RegisterKind::D1 => "D1",
            RegisterKind::D2 => "D2",
            RegisterKind::D3 => "D3",
            RegisterKind::D4 => "D4",
            RegisterKind::D5 => "D5",
            RegisterKind::D6 => "D6",
            RegisterKind::D7 => "D7",
        }
    }

    pub fn title(self) -> &'static str {
        match self {
            RegisterKind::D1 => "Threat model (STRIDE-lite)",
            RegisterKind::D2 => "Data handling & privacy",
            RegisterKind::D3 => "SBOM & licences",
            RegisterKind::D4 => "Build reproducibility & supply chain",
            RegisterKind::D5 => "Secrets & access control",
            RegisterKind::D6 => "Vulnerability management",
            RegisterKind::D7 => "Incident response",
        }
    }

    /// The file stem under `security/` (`threat-model` → `security/threat-model.csv`).
    pub fn stem(self) -> &'static str {
        match self {
            RegisterKind::D1 => "threat-model",
            RegisterKind::D2 => "data-handling",
            RegisterKind::D3 => "sbom-licences",
            RegisterKind::D4 => "build-reproducibility",
            RegisterKind::D5 => "secrets",
            RegisterKind::D6 => "vulnerabilities",
            RegisterKind::D7 => "incident-response",
        }
    }

    /// Recognises a register file by its stem: `threat-model`, `d1-threat-model`, `d1`.
    pub fn from_stem(stem: &str) -> Option<RegisterKind> {
        let s = stem.to_ascii_lowercase();
        RegisterKind::ALL.into_iter().find(|k| {
            let code = k.code().to_ascii_lowercase();
            s == k.stem()
                || s == code
                || s == format!("{code}-{}", k.stem())
                || s == format!("{code}_{}", k.stem().replace('-', "_"))
        })
    }

    /// The columns, in the mini-spec's order.
    pub fn fields(self) -> &'static [FieldSpec] {
        match self {
            RegisterKind::D1 => D1_FIELDS,
            RegisterKind::D2 => D2_FIELDS,
            RegisterKind::D3 => D3_FIELDS,
            RegisterKind::D4 => D4_FIELDS,
            RegisterKind::D5 => D5_FIELDS,
            RegisterKind::D6 => D6_FIELDS,
            RegisterKind::D7 => D7_FIELDS,
        }
    }

    /// The header row the starter file gets: the mini-spec's CSV starter headers.
    pub fn starter_header(self) -> &'static str {
        match self {
            RegisterKind::D1 => {
                "Asset/Data Flow,Threat,Vector,Impact,Likelihood,Control,Owner,Residual Risk,Status,ReviewDate"
            }
            RegisterKind::D2 => {
                "Data Item,Source,Purpose,StorageLocation,Retention,Access Roles,In-Transit,At-Rest,Anonymization,Legal Basis,DSR Process,Owner"
            }
            RegisterKind::D3 => {
                "Component,Version,License,Origin,Integrity,Known CVEs,UseScope,Replacement Policy,Owner,Ecosystem"
            }
            RegisterKind::D4 => {
                "BuildInput,Environment,Reproducible,ArtifactHash,Signature/Attestation,DependencyPolicy,SLSATarget,VerificationSteps"
            }
            RegisterKind::D5 => {
                "Secret,Scope,StorageMethod,RotationPolicy,Access Roles,Last Rotated,AuditLog"
            }
            RegisterKind::D6 => {
                "Source,CVE/Issue,Affected,Severity,Decision,SLA,Status,Evidence,Opened"
            }
            RegisterKind::D7 => {
                "Trigger,Severity,First-Hour Actions,Forensics,Comms,Roles/Contacts,Postmortem,Last Rehearsal"
            }
        }
    }

    /// The mini-spec's example rows (its CSV starters), written to `security/examples/`.
    pub fn example_rows(self) -> &'static str {
        match self {
            RegisterKind::D1 => {
                "Firmware update,Tampering,Unsigned update package,High,Med,\"Sign + verify updates (Ed25519)\",Alex,\"Keys stored in HSM\",Mitigated,2025-12-28\nTelemetry log,Information disclosure,Intercept on Wi-Fi,Med,Med,\"TLS + rotate creds\",Alex,\"User misconfig\",Open,2026-01-10\n"
            }
            RegisterKind::D2 => {
                "Device logs,Device,\"Debug + QA\",\"Local SD; Cloud S3 (us-west-2)\",\"90 days\",\"Eng read-only\",TLS,AES-256,\"Scrub PII\",\"Legitimate interest\",\"Support ticket + script\",Alex\n"
            }
            RegisterKind::D3 => {
                "lwIP,2.2.0,BSD-3,https://...,sha256:...,None,prod,\"Pin minor; update quarterly\",Alex\n"
            }
            RegisterKind::D4 => {
                "repo@a1b2c3,ghcr.io/app@sha256:...,Yes,sha256:...,Sigstore attest,\"Pinned + checksum\",2,doclink\n"
            }
            RegisterKind::D5 => {
                "OTA_SIGN_KEY,prod,HSM,\"6 months\",\"Release-mgr; CI\",2025-11-01,link\n"
            }
            RegisterKind::D6 => {
                "NVD,CVE-2025-1234,OpenSSL 3.0.14,Critical,Fix,7,In Progress,PR#221,\n"
            }
            RegisterKind::D7 => {
                "Suspected key leak,S2,\"Revoke; rotate; disable pipeline\",\"Audit logs; repo history\",\"Customer advisory draft\",\"Second on-call; Eng mgr\",link,\n"
            }
        }
    }
}

const D1_FIELDS: &[FieldSpec] = &[
    ID,
    text("Asset/Data Flow", &["Asset", "Data Flow", "Flow"]),
    FieldSpec {
        name: "Threat",
        aliases: &["STRIDE"],
        kind: Kind::Enum {
            values: &[
                "Spoofing",
                "Tampering",
                "Repudiation",
                "Information disclosure",
                "Denial of service",
                "Elevation of privilege",
                "Other",
            ],
            synonyms: &[
                ("Info disclosure", "Information disclosure"),
                ("Disclosure", "Information disclosure"),
                ("DoS", "Denial of service"),
                ("Privilege escalation", "Elevation of privilege"),
                ("EoP", "Elevation of privilege"),
            ],
        },
        optional: false,
    },
    text("Vector", &["How"]),
    FieldSpec {
        name: "Impact",
        aliases: &[],
        kind: LEVELS,
        optional: false,
    },
    FieldSpec {
        name: "Likelihood",
        aliases: &[],
        kind: LEVELS,
        optional: false,
    },
    text("Control", &["Controls", "Control (prevent/detect/respond)"]),
    text("Owner", &[]),
    text("Residual Risk", &[]),
    FieldSpec {
        name: "Status",
        aliases: &[],
        kind: Kind::Enum {
            values: &["Open", "Mitigated", "Accepted"],
            synonyms: &[],
        },
        optional: false,
    },
    FieldSpec {
        name: "Review Date",
        aliases: &[],
        kind: Kind::Date,
        optional: false,
    },
];

const YES_NO_TEXT: Kind = Kind::Text;

const D2_FIELDS: &[FieldSpec] = &[
    ID,
    text("Data Item", &[]),
    text("Source", &[]),
    text("Purpose", &[]),
    text("Storage Location", &[]),
    text("Retention", &[]),
    text("Access Roles", &["Access Role(s)", "Access Role"]),
    FieldSpec {
        name: "In-Transit",
        aliases: &["In-Transit Encryption"],
        kind: YES_NO_TEXT,
        optional: false,
    },
    FieldSpec {
        name: "At-Rest",
        aliases: &["At-Rest Encryption"],
        kind: YES_NO_TEXT,
        optional: false,
    },
    text(
        "Anonymization",
        &["Anonymization/Pseudonymization", "Pseudonymization"],
    ),
    text("Legal Basis", &["Legal/Policy Basis"]),
    text("DSR Process", &[]),
    text("Owner", &[]),
];

const D3_FIELDS: &[FieldSpec] = &[
    ID,
    text("Component", &["Name"]),
    text("Version", &[]),
    text("License", &["Licence"]),
    text("Origin", &["Source", "URL"]),
    text("Integrity", &["Hash"]),
    text("Known CVEs", &["CVEs"]),
    FieldSpec {
        name: "Use Scope",
        aliases: &["Scope"],
        kind: Kind::Enum {
            values: &["prod", "dev", "tooling", "test"],
            synonyms: &[
                ("production", "prod"),
                ("development", "dev"),
                ("runtime", "prod"),
                ("build", "tooling"),
            ],
        },
        optional: false,
    },
    text("Replacement Policy", &[]),
    text("Owner", &["Owner/Reviewed", "Reviewed"]),
    // vouch's addition: the package's ecosystem (OSV's names: npm, crates.io, PyPI, Maven…),
    // so `register sync` can tell npm's `uuid` from crates.io's `uuid`.
    opt(text("Ecosystem", &["Package Type"])),
];

const D4_FIELDS: &[FieldSpec] = &[
    ID,
    text("Build Input", &[]),
    text("Environment", &[]),
    text("Reproducible", &[]),
    text("Artifact Hash", &["Hash"]),
    text("Signature/Attestation", &["Signature", "Attestation"]),
    text("Dependency Policy", &[]),
    text("SLSA Target", &["SLSA", "SLSA Level"]),
    text("Verification Steps", &[]),
];

const D5_FIELDS: &[FieldSpec] = &[
    ID,
    text("Secret", &["Secret Name", "Name"]),
    text("Scope", &[]),
    text("Storage Method", &["Storage"]),
    text("Rotation Policy", &["Rotation"]),
    text("Access Roles", &["Access Role(s)", "Roles"]),
    FieldSpec {
        name: "Last Rotated",
        aliases: &[],
        kind: Kind::Date,
        optional: false,
    },
    text("Audit Log", &["Audit Log Link"]),
    opt(text("Owner", &[])),
];

const D6_FIELDS: &[FieldSpec] = &[
    ID,
    text("Source", &[]),
    text("CVE/Issue", &["CVE", "Issue", "ID/CVE"]),
    text("Affected", &["Affected Component", "Component"]),
    FieldSpec {
        name: "Severity",
        aliases: &[],
        kind: Kind::Enum {
            values: &["Low", "Medium", "High", "Critical"],
            synonyms: &[
                ("Med", "Medium"),
                ("Moderate", "Medium"),
                ("Crit", "Critical"),
            ],
        },
        optional: false,
    },
    FieldSpec {
        name: "Decision",
        aliases: &[],
        kind: Kind::Enum {
            values: &["Fix", "Defer", "Accept"],
            synonyms: &[],
        },
        optional: false,
    },
    FieldSpec {
        name: "SLA",
        aliases: &["SLA (days)", "SLA days"],
        kind: Kind::Days,
        optional: false,
    },
    FieldSpec {
        name: "Status",
        aliases: &[],
        kind: Kind::Enum {
            values: &["Open", "In Progress", "Fixed", "Released"],
            synonyms: &[("InProgress", "In Progress"), ("WIP", "In Progress")],
        },
        optional: false,
    },
    text("Evidence", &[]),
    FieldSpec {
        name: "Opened",
        aliases: &["First Seen", "Reported"],
        kind: Kind::Date,
        optional: true,
    },
];

const D7_FIELDS: &[FieldSpec] = &[
    ID,
    text("Trigger", &[]),
    FieldSpec {
        name: "Severity",
        aliases: &[],
        kind: Kind::Enum {
            values: &["S1", "S2", "S3", "S4"],
            synonyms: &[
                ("Sev1", "S1"),
                ("Sev2", "S2"),
                ("Sev3", "S3"),
                ("Sev4", "S4"),
            ],
        },
        optional: false,
    },
    text("First-Hour Actions", &["First Hour Actions"]),
    text("Forensics", &["Forensics/Evidence"]),
    text("Comms", &["Customer/Regulatory Comms"]),
    text("Roles/Contacts", &["Contacts", "Roles"]),
    text("Postmortem", &["Postmortem Link"]),
    FieldSpec {
        name: "Last Rehearsal",
        aliases: &["Rehearsal", "Rehearsed"],
        kind: Kind::Date,
        optional: true,
    },
];

/// Folds a header for matching: lowercase letters and digits only.
pub fn fold(header: &str) -> String {
    header
        .chars()
        .filter(|c| c.is_alphanumeric())
        .flat_map(char::to_lowercase)
        .collect()
}

/// The field a header names, if any.
pub fn field_for(kind: RegisterKind, header: &str) -> Option<usize> {
    let h = fold(header);
    kind.fields()
        .iter()
        .position(|f| fold(f.name) == h || f.aliases.iter().any(|a| fold(a) == h))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn starter_headers_map_to_fields() {
        for k in RegisterKind::ALL {
            for h in k.starter_header().split(',') {
                assert!(
                    field_for(k, h).is_some(),
                    "{}: header {h} is unknown",
                    k.code()
                );
            }
        }
    }

    #[test]
    fn stems() {
        assert_eq!(
            RegisterKind::from_stem("threat-model"),
            Some(RegisterKind::D1)
        );
        assert_eq!(
            RegisterKind::from_stem("D6-vulnerabilities"),
            Some(RegisterKind::D6)
        );
        assert_eq!(RegisterKind::from_stem("notes"), None);
    }
}
