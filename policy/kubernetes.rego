# Kubernetes basics for workload manifests.
package main

import rego.v1

k8s_workload_kinds := {"Deployment", "StatefulSet", "DaemonSet", "ReplicaSet", "Job"}

k8s_pod_spec := input.spec if input.kind == "Pod"

k8s_pod_spec := input.spec.template.spec if input.kind in k8s_workload_kinds

k8s_pod_spec := input.spec.jobTemplate.spec.template.spec if input.kind == "CronJob"

k8s_name := sprintf("%s/%s", [input.kind, input.metadata.name])

k8s_containers contains c if {
	some c in k8s_pod_spec.containers
}

k8s_containers contains c if {
	some c in k8s_pod_spec.initContainers
}

deny_k8s_privileged contains msg if {
	some c in k8s_containers
	c.securityContext.privileged == true
	msg := sprintf("%s: container %s is privileged", [k8s_name, c.name])
}

k8s_non_root(c) if c.securityContext.runAsNonRoot == true

k8s_non_root(_) if k8s_pod_spec.securityContext.runAsNonRoot == true

deny_k8s_root contains msg if {
	some c in k8s_containers
	not k8s_non_root(c)
	msg := sprintf("%s: container %s may run as root (set runAsNonRoot: true)", [k8s_name, c.name])
}

deny_k8s_latest contains msg if {
	some c in k8s_containers
	not contains(c.image, "@sha256:")
	k8s_unpinned(c.image)
	msg := sprintf("%s: container %s uses an unpinned image %s", [k8s_name, c.name, c.image])
}

k8s_unpinned(image) if endswith(image, ":latest")

k8s_unpinned(image) if {
	parts := split(image, "/")
	not contains(parts[count(parts) - 1], ":")
}

deny_k8s_host_namespace contains msg if {
	some field in ["hostNetwork", "hostPID", "hostIPC"]
	k8s_pod_spec[field] == true
	msg := sprintf("%s: %s shares the host's namespace", [k8s_name, field])
}

deny_k8s_limits contains msg if {
	some c in k8s_pod_spec.containers
	not c.resources.limits.memory
	msg := sprintf("%s: container %s has no memory limit", [k8s_name, c.name])
}

warn_k8s_read_only_root contains msg if {
	some c in k8s_pod_spec.containers
	not c.securityContext.readOnlyRootFilesystem == true
	msg := sprintf("%s: container %s has a writable root filesystem", [k8s_name, c.name])
}
