# IAM guardrails for AWS policy documents (input: {"Version": ..., "Statement": ...}).
package main

import rego.v1

iam_statements contains s if {
	is_array(input.Statement)
	some s in input.Statement
}

iam_statements contains input.Statement if is_object(input.Statement)

iam_values(x) := x if is_array(x)

iam_values(x) := [x] if is_string(x)

iam_allow(s) if s.Effect == "Allow"

deny_iam_admin contains msg if {
	some s in iam_statements
	iam_allow(s)
	"*" in iam_values(s.Action)
	"*" in iam_values(s.Resource)
	msg := sprintf("IAM statement %v allows every action on every resource", [object.get(s, "Sid", "(no Sid)")])
}

iam_public(p) if p == "*"

iam_public(p) if "*" in iam_values(p.AWS)

deny_iam_public contains msg if {
	some s in iam_statements
	iam_allow(s)
	iam_public(s.Principal)
	not s.Condition
	msg := sprintf("IAM statement %v allows any principal without a condition", [object.get(s, "Sid", "(no Sid)")])
}

deny_iam_not_action contains msg if {
	some s in iam_statements
	iam_allow(s)
	s.NotAction
	msg := sprintf("IAM statement %v uses Allow with NotAction", [object.get(s, "Sid", "(no Sid)")])
}

warn_iam_passrole contains msg if {
	some s in iam_statements
	iam_allow(s)
	some a in iam_values(s.Action)
	lower(a) in {"iam:passrole", "iam:*"}
	"*" in iam_values(s.Resource)
	msg := sprintf("IAM statement %v can pass any role (iam:PassRole on *)", [object.get(s, "Sid", "(no Sid)")])
}
