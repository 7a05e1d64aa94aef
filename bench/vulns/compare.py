#!/usr/bin/env python3
"""Compare vouch's PyPI matches with osv_judge.py's (record by record) and with pip-audit's
(vulnerability by vulnerability, aliases folded). Prints the differences and a summary.

usage: compare.py VOUCH_JSON JUDGE_JSONL [PIP_AUDIT_JSON]
"""
import json
import re
import sys


def norm(n):
    return re.sub(r"[-_.]+", "-", n).lower()


def canon(v):
    """pip-audit reports versions in packaging's normal form (0.1.0dev -> 0.1.0.dev0)."""
    try:
        from packaging.version import Version

        return str(Version(v))
    except Exception:
        return v


vouch = json.load(open(sys.argv[1]))
mine, groups = set(), {}
for f in vouch["findings"]:
    p = f.get("properties", {})
    if p.get("ecosystem") != "PyPI":
        continue
    key = (norm(p["package"]), canon(p["version"]))
    ids = set(p.get("ids", [])) | set(p.get("aliases", [])) | {f["rule"][5:]}
    groups.setdefault(key, []).append(ids)
    for i in p.get("ids", []):
        mine.add((key[0], key[1], i))
judge = set()
for line in open(sys.argv[2]):
    d = json.loads(line)
    judge.add((d["name"], canon(d["version"]), d["id"]))
print(f"records matched: vouch {len(mine)}, packaging-based judge {len(judge)}")
for x in sorted(mine - judge)[:20]:
    print("  only vouch:", *x)
for x in sorted(judge - mine)[:20]:
    print("  only judge:", *x)
if len(sys.argv) > 3:
    pa = json.load(open(sys.argv[3]))
    pa_vulns = 0
    missing = []
    for d in pa.get("dependencies", []):
        key = (norm(d["name"]), canon(d.get("version", "")))
        for v in d.get("vulns", []):
            pa_vulns += 1
            ids = {v["id"], *v.get("aliases", [])}
            if not any(ids & g for g in groups.get(key, [])):
                missing.append((key, v["id"]))
    ours = sum(len(g) for g in groups.values())
    print(f"vulnerabilities: vouch {ours} findings (aliases grouped), pip-audit {pa_vulns} entries")
    for m in missing[:20]:
        print("  pip-audit only:", m)
    print(f"pip-audit entries vouch does not report: {len(missing)}")
