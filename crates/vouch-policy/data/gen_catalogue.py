#!/usr/bin/env python3
"""Regenerates iam-actions.tsv from parliament's iam_definition.json.

Usage: python3 gen_catalogue.py PATH/TO/parliament/iam_definition.json > iam-actions.tsv

One line per service: `prefix<TAB>Action:L,Action:L,...` where L is the access level
(R Read, L List, W Write, P Permissions management, T Tagging). Sorted, so regeneration
from the same input gives identical bytes.
"""
import json
import sys

LEVELS = {"Read": "R", "List": "L", "Write": "W", "Permissions management": "P", "Tagging": "T"}

services = {}
for svc in json.load(open(sys.argv[1], encoding="utf-8")):
    acts = services.setdefault(svc["prefix"], {})
    for p in svc["privileges"]:
        acts[p["privilege"]] = LEVELS[p["access_level"]]
for prefix in sorted(services):
    acts = services[prefix]
    print(prefix + "\t" + ",".join(f"{a}:{acts[a]}" for a in sorted(acts)))
