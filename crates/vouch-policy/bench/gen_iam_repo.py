#!/usr/bin/env python3
"""Generates a 400-file repository resembling an infrastructure monorepo: source, docs,
Kubernetes and CI YAML, JSON configs, a package-lock.json, an OpenAPI spec that mentions
`Statement`, and the IAM material the iam check is for: 6 policy JSON files, 2
CloudFormation templates and 2 Terraform JSON plans (single-line, as `terraform show -json`
writes them)."""
import json, os, random, sys
random.seed(7)
root = sys.argv[1]
def w(path, text):
    p = os.path.join(root, path); os.makedirs(os.path.dirname(p), exist_ok=True)
    open(p, "w").write(text)
n = 0
for i in range(200):
    w(f"src/mod{i}/lib.py", "".join(f"def f{j}(x):\n    return x * {j}\n\n" for j in range(60))); n += 1
for i in range(60):
    w(f"docs/page{i}.md", f"# Page {i}\n\n" + "Lorem ipsum dolor sit amet. " * 200); n += 1
for i in range(70):
    w(f"deploy/app{i}.yaml", f"""apiVersion: apps/v1
kind: Deployment
metadata:
  name: app{i}
spec:
  replicas: 2
  template:
    spec:
      containers:
        - name: app
          image: registry.example/app{i}:1.{i}
          resources: {{limits: {{memory: 256Mi}}}}
"""); n += 1
for i in range(40):
    w(f"config/settings{i}.json", json.dumps({"name": f"svc{i}", "port": 8000 + i, "features": {f"f{j}": j % 2 == 0 for j in range(50)}}, indent=2)); n += 1
# Large non-IAM JSON: a lock file and an OpenAPI spec with a schema named Statement.
w("web/package-lock.json", json.dumps({"lockfileVersion": 3, "packages": {f"node_modules/p{i}": {"version": f"1.{i}.0", "resolved": f"https://registry.example/p{i}-1.{i}.0.tgz", "integrity": "sha512-" + "A" * 86, "dependencies": {f"p{(i+1)%5000}": "^1.0.0"}} for i in range(5000)}}, indent=2)); n += 1
w("api/openapi.json", json.dumps({"openapi": "3.0.0", "paths": {f"/r{i}": {"get": {"responses": {"200": {"description": "ok"}}}} for i in range(3000)}, "components": {"schemas": {"Statement": {"type": "object"}, **{f"S{i}": {"type": "object", "properties": {"a": {"type": "string"}}} for i in range(3000)}}}}, indent=2)); n += 1
# IAM material.
def stmt(i):
    if i % 7 == 6:
        return {"Sid": f"S{i}", "Effect": "Allow", "Action": "s3:*", "Resource": "*"}
    return {"Sid": f"S{i}", "Effect": "Allow", "Action": [f"s3:GetObject", "s3:PutObject"], "Resource": f"arn:aws:s3:::bucket-{i}/*"}
for i in range(6):
    w(f"iam/policy{i}.json", json.dumps({"Version": "2012-10-17", "Statement": [stmt(j) for j in range(20)]}, indent=2)); n += 1
for i in range(2):
    res = {f"Role{j}": {"Type": "AWS::IAM::Role", "Properties": {"RoleName": f"role-{j}", "AssumeRolePolicyDocument": {"Statement": [{"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"}, "Action": "sts:AssumeRole"}]}, "Policies": [{"PolicyName": "p", "PolicyDocument": {"Statement": [stmt(k) for k in range(5)]}}], "Tags": [{"Key": "owner", "Value": "x"}]}} for j in range(150)}
    w(f"cfn/stack{i}.json", json.dumps({"AWSTemplateFormatVersion": "2010-09-09", "Resources": res}, indent=2)); n += 1
for i in range(2):
    resources = []
    for j in range(1500):
        resources.append({"address": f"aws_iam_policy.p{j}", "mode": "managed", "type": "aws_iam_policy", "name": f"p{j}", "values": {"name": f"p{j}", "policy": json.dumps({"Statement": [stmt(k) for k in range(3)]}), "tags": {"owner": "x"}}})
        resources.append({"address": f"aws_s3_bucket.b{j}", "mode": "managed", "type": "aws_s3_bucket", "name": f"b{j}", "values": {"bucket": f"bucket-{j}", "tags": {"owner": "x"}, "versioning": [{"enabled": True}]}})
    w(f"plans/plan{i}.json", json.dumps({"format_version": "1.2", "terraform_version": "1.9.0", "planned_values": {"root_module": {"resources": resources}}}, separators=(",", ":"))); n += 1
for i in range(400 - n):
    w(f"misc/note{i}.txt", "note\n" * 20)
print(sum(len(f) for _, _, f in os.walk(root)), "files")
