#!/usr/bin/env python3
"""An independent PyPI matcher for cross-checking vouch, and a local OSV API for pip-audit.

Version ordering comes from `packaging` (what pip and pip-audit use); range evaluation is
the OSV schema's reference algorithm. Records come from the same OSV snapshot vouch reads.

  osv_judge.py match OSV_TAR_GZ REQUIREMENTS  -> JSON lines {"name","version","id"}
  osv_judge.py serve OSV_TAR_GZ PORT          -> POST /v1/query as api.osv.dev answers it
"""
import json
import re
import sys
import tarfile
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from packaging.version import InvalidVersion, Version


def norm(name):
    return re.sub(r"[-_.]+", "-", name).lower()


def load(src):
    index = {}
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
                if p.get("ecosystem") == "PyPI":
                    index.setdefault(norm(p.get("name", "")), {})[rec["id"]] = rec
    return index


def in_range(events, v):
    evs = []
    for e in events:
        (k, s), = e.items()
        if k == "introduced" and s == "0":
            evs.append((0, None, k))
            continue
        try:
            evs.append((1, Version(s), k))
        except InvalidVersion:
            return False
    evs.sort(key=lambda t: (t[0], t[1] if t[1] is not None else Version("0")))
    affected = False
    for _, ev, k in evs:
        if k == "introduced" and (ev is None or v >= ev):
            affected = True
        elif k == "fixed" and v >= ev:
            affected = False
        elif k == "last_affected" and v > ev:
            affected = False
        elif k == "limit" and v >= ev:
            return False
    return affected


def affects(rec, name, raw):
    if rec.get("withdrawn"):
        return False
    try:
        v = Version(raw)
    except InvalidVersion:
        v = None
    for a in rec.get("affected", []):
        p = a.get("package") or {}
        if p.get("ecosystem") != "PyPI" or norm(p.get("name", "")) != name:
            continue
        if raw in a.get("versions", []):
            return True
        if v is None:
            continue
        for r in a.get("ranges", []):
            if r.get("type") == "ECOSYSTEM" and in_range(r.get("events", []), v):
                return True
    return False


def match(index, name, version):
    n = norm(name)
    return sorted(i for i, rec in index.get(n, {}).items() if affects(rec, n, version))


def main():
    cmd, src = sys.argv[1], sys.argv[2]
    index = load(src)
    if cmd == "match":
        for line in open(sys.argv[3]):
            line = line.strip()
            if "==" not in line:
                continue
            name, version = line.split("==", 1)
            for i in match(index, name, version):
                print(json.dumps({"name": norm(name), "version": version, "id": i}))
        return
    port = int(sys.argv[3])

    class H(BaseHTTPRequestHandler):
        def log_message(self, *a):
            pass

        def do_POST(self):
            body = json.loads(self.rfile.read(int(self.headers.get("Content-Length", 0))))
            p = body.get("package", {})
            vulns = []
            if p.get("ecosystem") == "PyPI":
                n = norm(p.get("name", ""))
                vulns = [index[n][i] for i in match(index, n, body.get("version", ""))]
            out = json.dumps({"vulns": vulns} if vulns else {}).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(out)))
            self.end_headers()
            self.wfile.write(out)

    ThreadingHTTPServer(("127.0.0.1", port), H).serve_forever()


if __name__ == "__main__":
    main()
