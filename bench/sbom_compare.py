"""Compares the component sets of two CycloneDX JSON files by purl (type, namespace, name,
version; qualifiers and subpath dropped, percent-encoding decoded). Prints
`vouch/cdxgen/common` and writes the differences to the third argument."""
import json
import sys
from urllib.parse import unquote


def key(purl):
    p = purl.split("?")[0].split("#")[0]
    p = unquote(p)
    if p.startswith("pkg:pypi/"):
        p = p.lower().replace("_", "-")
    return p


def purls(path):
    try:
        doc = json.load(open(path))
    except Exception:
        return set()
    out = set()
    stack = list(doc.get("components", []))
    while stack:
        c = stack.pop()
        stack.extend(c.get("components", []))
        if c.get("purl"):
            out.add(key(c["purl"]))
    return out


a, b = purls(sys.argv[1]), purls(sys.argv[2])
with open(sys.argv[3], "w") as f:
    for p in sorted(a - b):
        f.write(f"only vouch:  {p}\n")
    for p in sorted(b - a):
        f.write(f"only cdxgen: {p}\n")
print(f"{len(a)}/{len(b)}/{len(a & b)}")
