#!/usr/bin/env python3
"""Compares `vouch ci audit --format json` with `zizmor --format json` on the corpus.

usage: compare.py VOUCH.json ZIZMOR.json [--details]

Findings are matched per audit by (file, line of the primary location). Audits without a
counterpart on the other side are listed but not compared. Every difference is either a vouch
fix or explained in docs/ci-audit.md (section "Differences from zizmor").
"""
import collections
import json
import sys

MAP = {
    "unpinned-uses": "workflow/unpinned-action",
    "excessive-permissions": "workflow/permissions",
    "cache-poisoning": "workflow/cache-poisoning",
    "dangerous-triggers": "workflow/dangerous-trigger",
    "template-injection": "workflow/template-injection",
}


def norm(path):
    path = path.replace("\\", "/")
    for marker in ("workflows/", "actions/"):
        i = path.rfind(marker)
        if i >= 0:
            return path[i:]
    return path


def zizmor_keys(data):
    out = collections.defaultdict(set)
    other = collections.Counter()
    for f in data:
        rule = MAP.get(f["ident"])
        if rule is None:
            other[f["ident"]] += 1
            continue
        prim = [l for l in f["locations"] if l["symbolic"].get("kind") == "Primary"] or f["locations"]
        l = prim[0]
        path = norm(l["symbolic"]["key"]["Local"]["verbatim_path"])
        line = l["concrete"]["location"]["start_point"]["row"] + 1
        out[rule].add((path, line))
    return out, other


def vouch_keys(data):
    out = collections.defaultdict(set)
    other = collections.Counter()
    for f in data["findings"]:
        if f["rule"] not in MAP.values():
            other[f["rule"]] += 1
            continue
        out[f["rule"]].add((norm(f["location"]["path"]), f["location"].get("line", 0)))
    return out, other


def reason(rule, side, path, line, v_files, z_files):
    """The documented reason (docs/ci-audit.md, `diff:<id>`) for one difference."""
    name = path.rsplit("/", 1)[-1]
    if rule == "workflow/permissions":
        if side == "zizmor" or name.endswith(("ci-unpinned.yml", "deploy-static-keys.yml")):
            return "missing-block-location"
        return "scope-table"
    if rule == "workflow/dangerous-trigger":
        if side == "vouch":
            return "pwn-request-location"
        return "pwn-request-location" if path in v_files else "trigger-alone"
    if rule == "workflow/cache-poisoning":
        if "matrix" in name:
            return "unscoped-key"
        if "workflow-run" in name or "pr-target" in name:
            return "privileged-cache"
        if "k8s" in name:
            return "docker-gha-cache"
        return "deploy-job-cache"
    if rule == "workflow/template-injection":
        if "triage" in name:
            return "safe-login"
        return "ref-name"
    if rule == "workflow/unpinned-action":
        return "docker-tag"
    return "unexplained"


def main():
    vouch = json.load(open(sys.argv[1]))
    zizmor = json.load(open(sys.argv[2]))
    details = "--details" in sys.argv
    if "--tsv" in sys.argv:
        v, _ = vouch_keys(vouch)
        z, _ = zizmor_keys(zizmor)
        rows = []
        for rule in sorted(MAP.values()):
            vf = {p for p, _ in v[rule]}
            zf = {p for p, _ in z[rule]}
            for side, mine, theirs in (("vouch", v[rule], z[rule]), ("zizmor", z[rule], v[rule])):
                for p, l in sorted(mine - theirs):
                    rows.append(f"{rule}\t{side}\t{p}:{l}\t{reason(rule, side, p, l, vf, zf)}")
        print("# audit\tonly in\tpath:line\treason (docs/ci-audit.md, diff:<reason>)")
        print("\n".join(sorted(rows)))
        return
    v, v_other = vouch_keys(vouch)
    z, z_other = zizmor_keys(zizmor)
    print(f"{'audit':34} {'both':>5} {'vouch only':>10} {'zizmor only':>11}   files: {'both':>4} {'vouch':>5} {'zizmor':>6}")
    for rule in sorted(MAP.values()):
        both = v[rule] & z[rule]
        vo = sorted(v[rule] - z[rule])
        zo = sorted(z[rule] - v[rule])
        vf = {p for p, _ in v[rule]}
        zf = {p for p, _ in z[rule]}
        print(f"{rule:34} {len(both):5} {len(vo):10} {len(zo):11}          {len(vf & zf):4} {len(vf - zf):5} {len(zf - vf):6}")
        if details:
            for p, l in vo:
                print(f"    vouch only:  {p}:{l}")
            for p, l in zo:
                print(f"    zizmor only: {p}:{l}")
    print("vouch audits without a zizmor counterpart:", dict(sorted(v_other.items())))
    print("zizmor audits outside this comparison:", dict(sorted(z_other.items())))


if __name__ == "__main__":
    main()
