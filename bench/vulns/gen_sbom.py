#!/usr/bin/env python3
"""Generate a CycloneDX SBOM of N real (ecosystem, name, version) triples taken from an OSV
snapshot, plus a requirements.txt of its PyPI part, for bench/vulns.sh.

Versions are drawn from the records themselves (explicit `versions` lists and range event
versions), so about half the packages are vulnerable and half are fixed releases: a realistic
mix for a scanner. Deterministic for a given snapshot and N.

usage: gen_sbom.py OSV_TAR_GZ N OUT_SBOM OUT_REQUIREMENTS
"""
import json
import random
import sys
import tarfile

PURL = {"crates.io": "cargo", "PyPI": "pypi", "Go": "golang", "npm": "npm"}


def main():
    src, n, out_sbom, out_req = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]
    cands = {}
    with tarfile.open(src) as tar:
        for m in tar:
            if not m.isfile() or not m.name.endswith(".json"):
                continue
            try:
                rec = json.load(tar.extractfile(m))
            except Exception:
                continue
            for a in rec.get("affected", []):
                p = a.get("package") or {}
                eco = p.get("ecosystem", "")
                if eco not in PURL:
                    continue
                vs = list(a.get("versions", []))[:20]
                for r in a.get("ranges", []):
                    if r.get("type") == "GIT":
                        continue
                    for e in r.get("events", []):
                        for k in ("introduced", "fixed", "last_affected"):
                            v = e.get(k)
                            if v and v != "0":
                                vs.append(v)
                for v in vs:
                    cands.setdefault((eco, p.get("name", "")), set()).add(v)
    rng = random.Random(20251124)
    keys = sorted(k for k in cands if k[1])
    rng.shuffle(keys)
    chosen = []
    used = set()
    # Round-robin over packages, one more version each round, until N (a lockfile of a
    # large monorepo holds some packages at several versions).
    for _round in range(50):
        for k in keys:
            if len(chosen) >= n:
                break
            left = sorted(v for v in cands[k] if (k, v) not in used)
            if left:
                v = rng.choice(left)
                used.add((k, v))
                chosen.append((k[0], k[1], v))
        if len(chosen) >= n:
            break

    def bom(triples):
        comps = [component(*t) for t in sorted(triples)]
        return {"bomFormat": "CycloneDX", "specVersion": "1.6", "version": 1, "components": comps}

    with open(out_sbom, "w") as f:
        json.dump(bom(chosen), f, indent=1)
    # pip-audit refuses two versions of one package: its input (and vouch's SBOM of the same
    # packages) keeps the first version of each PyPI name.
    pypi, seen = [], set()
    for eco, name, ver in chosen:
        if eco == "PyPI" and name.lower() not in seen and valid_pep440(ver):
            seen.add(name.lower())
            pypi.append((eco, name, ver))
    with open(out_req, "w") as f:
        for _, name, ver in sorted(pypi):
            f.write(f"{name}=={ver}\n")
    with open(out_req + ".cdx.json", "w") as f:
        json.dump(bom(pypi), f, indent=1)
    print(f"{len(chosen)} packages; {len(pypi)} distinct PyPI packages for pip-audit", file=sys.stderr)


def valid_pep440(ver):
    try:
        from packaging.version import InvalidVersion, Version
    except ImportError:  # without packaging, keep plain release versions only
        return all(p.isdigit() for p in ver.split("."))
    try:
        Version(ver)
        return True
    except InvalidVersion:
        return False


def component(eco, name, ver):
    if eco == "Go":
        v = ver if ver.startswith("v") else "v" + ver
        purl = f"pkg:golang/{name}@{v}"
    elif eco == "npm" and name.startswith("@"):
        purl = f"pkg:npm/%40{name[1:]}@{ver}"
    else:
        purl = f"pkg:{PURL[eco]}/{name}@{ver}"
    return {"type": "library", "name": name, "version": ver, "purl": purl}


if __name__ == "__main__":
    main()
