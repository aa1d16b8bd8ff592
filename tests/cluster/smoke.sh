#!/usr/bin/env bash
# Checks a running test cluster (after up.sh) end to end with kubectl: one Job per
# kwok behaviour, then the Job conditions, pod phases, exit codes and logs that the
# Rust tests rely on, plus RBAC (403 for a ServiceAccount without roles), the TTL
# controller and garbage collection. Exits non-zero on the first mismatch and
# deletes everything it created (also on failure).
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=lib.sh
source "$here/lib.sh"

run="$(cluster_run_dir)"
kubeconfig="$run/kubeconfig"
[[ -f "$kubeconfig" ]] || { echo "smoke.sh: no cluster ($kubeconfig missing); run up.sh" >&2; exit 1; }
k() { "$(cluster_bin_dir)/kubectl" --kubeconfig "$kubeconfig" "$@"; }

passed=0
failed=0
check() { # description expected actual
  if [[ "$2" == "$3" ]]; then
    passed=$((passed + 1)); echo "ok   $1"
  else
    failed=$((failed + 1)); echo "FAIL $1: expected [$2], got [$3]"
  fi
}
cleanup() {
  k delete jobs -A -l smoke.noetl.io/case --wait=false >/dev/null 2>&1 || true
  k -n noetl delete serviceaccount smoke-restricted --ignore-not-found >/dev/null 2>&1 || true
}
trap cleanup EXIT

# job NAME NAMESPACE BACKOFF_LIMIT ANNOTATIONS_JSON [EXTRA_JOB_SPEC_FIELDS] [CPU_REQUEST] [IMAGE]
# (EXTRA_JOB_SPEC_FIELDS: JSON members ending in a comma, e.g. '"activeDeadlineSeconds": 4,')
# A Job shaped like the script tool's: init container install-dependencies, main
# container script, restartPolicy Never, the annotations on Job and pod template.
job() {
  local name=$1 ns=$2 backoff=$3 annotations=$4 extra=${5:-} cpu=${6:-100m} image=${7:-python:3.11-slim}
  k apply -f - >/dev/null <<EOF
{"apiVersion": "batch/v1", "kind": "Job",
 "metadata": {"name": "$name", "namespace": "$ns", "labels": {"smoke.noetl.io/case": "$name"},
              "annotations": $annotations},
 "spec": {"backoffLimit": $backoff, $extra
  "template": {
   "metadata": {"labels": {"smoke.noetl.io/case": "$name"}, "annotations": $annotations},
   "spec": {"restartPolicy": "Never",
    "initContainers": [{"name": "install-dependencies", "image": "$image",
      "command": ["python3", "-m", "pip", "install", "--target", "/deps", "--", "pandas>=2"]}],
    "containers": [{"name": "script", "image": "$image",
      "command": ["python3", "/scripts/script.py"],
      "resources": {"requests": {"cpu": "$cpu", "memory": "64Mi"}}}]}}}}
EOF
}
B=test.noetl.io/behavior
job smoke-succeed noetl 0 '{}'
job smoke-fail noetl-log-traceback 2 "{\"$B\": \"fail\", \"test.noetl.io/exit-code\": \"3\"}"
job smoke-oom noetl 0 "{\"$B\": \"oom\"}"
job smoke-install-fail noetl-log-traceback 0 "{\"$B\": \"install-fail\"}"
job smoke-pull noetl 0 "{\"$B\": \"image-pull-fail\"}"
job smoke-unschedulable noetl 0 '{}' '' 64
job smoke-hang noetl 0 "{\"$B\": \"hang\"}"
job smoke-deadline noetl 0 "{\"$B\": \"hang\"}" '"activeDeadlineSeconds": 4,'
job smoke-large-log noetl-log-large 0 '{}'
job smoke-ttl noetl 0 '{}' '"ttlSecondsAfterFinished": 0,'
# The same behaviours chosen by image, no annotations (upstream's job config has none).
job smoke-image-fail noetl 0 '{}' '' 100m test.noetl.io/fail:7
job smoke-image-oom noetl 0 '{}' '' 100m test.noetl.io/oom
job smoke-image-succeed noetl 0 '{}' '' 100m test.noetl.io/succeed:3s
job smoke-image-install noetl 0 '{}' '' 100m test.noetl.io/install-fail:4

W=(--timeout=90s)
pod_of() { k -n "$1" get pods -l "smoke.noetl.io/case=$2" -o jsonpath='{.items[0].metadata.name}'; }
# wait_gone KUBECTL_GET_ARGS...: until `kubectl get ARGS -o name` lists nothing
# (kubectl wait --for=delete fails when a selector matches nothing to begin with).
wait_gone() {
  local deadline=$((SECONDS + 90))
  while [[ -n "$(k get "$@" -o name)" ]]; do
    ((SECONDS < deadline)) || { echo "FAIL still there after 90s: $*"; return 1; }
    sleep 0.5
  done
}
pod_field() { k -n "$1" get pods -l "smoke.noetl.io/case=$2" -o jsonpath="{.items[0]$3}"; }

# --- succeed: Complete, exit 0, init container terminated 0, logs served by kwok
k -n noetl wait job/smoke-succeed --for=condition=Complete "${W[@]}" >/dev/null
check "succeed: pod phase" Succeeded "$(pod_field noetl smoke-succeed .status.phase)"
check "succeed: script exit code" 0 "$(pod_field noetl smoke-succeed '.status.containerStatuses[0].state.terminated.exitCode')"
check "succeed: script reason" Completed "$(pod_field noetl smoke-succeed '.status.containerStatuses[0].state.terminated.reason')"
check "succeed: init exit code" 0 "$(pod_field noetl smoke-succeed '.status.initContainerStatuses[0].state.terminated.exitCode')"
pod="$(pod_of noetl smoke-succeed)"
check "succeed: script log" '{"result": "success", "count": 100}' "$(k -n noetl logs "$pod" -c script)"
check "succeed: init log" "Successfully installed pandas-2.2.3" "$(k -n noetl logs "$pod" -c install-dependencies | tail -n1)"

# --- fail with exit code 3 and backoffLimit 2: three failed pods, Job Failed
ns=noetl-log-traceback
k -n $ns wait job/smoke-fail --for=condition=Failed "${W[@]}" >/dev/null
check "fail: job failure reason" BackoffLimitExceeded "$(k -n $ns get job smoke-fail -o jsonpath='{.status.conditions[?(@.type=="Failed")].reason}')"
check "fail: job .status.failed" 3 "$(k -n $ns get job smoke-fail -o jsonpath='{.status.failed}')"
check "fail: pod phases" "Failed Failed Failed" "$(k -n $ns get pods -l smoke.noetl.io/case=smoke-fail -o jsonpath='{.items[*].status.phase}')"
check "fail: exit codes" "3 3 3" "$(k -n $ns get pods -l smoke.noetl.io/case=smoke-fail -o jsonpath='{.items[*].status.containerStatuses[0].state.terminated.exitCode}')"
check "fail: traceback log" "ValueError: record 3 is invalid" "$(k -n $ns logs "$(pod_of $ns smoke-fail)" -c script | tail -n1)"

# --- oom
k -n noetl wait job/smoke-oom --for=condition=Failed "${W[@]}" >/dev/null
check "oom: reason" OOMKilled "$(pod_field noetl smoke-oom '.status.containerStatuses[0].state.terminated.reason')"
check "oom: exit code" 137 "$(pod_field noetl smoke-oom '.status.containerStatuses[0].state.terminated.exitCode')"

# --- install-fail: init container exits 1, main container never starts
k -n $ns wait job/smoke-install-fail --for=condition=Failed "${W[@]}" >/dev/null
check "install-fail: pod phase" Failed "$(pod_field $ns smoke-install-fail .status.phase)"
check "install-fail: init exit code" 1 "$(pod_field $ns smoke-install-fail '.status.initContainerStatuses[0].state.terminated.exitCode')"
check "install-fail: script waiting" PodInitializing "$(pod_field $ns smoke-install-fail '.status.containerStatuses[0].state.waiting.reason')"
check "install-fail: pip log" "ERROR: No matching distribution found for pandas>=99" \
  "$(k -n $ns logs "$(pod_of $ns smoke-install-fail)" -c install-dependencies | tail -n1)"

# --- image-pull-fail: ErrImagePull, then ImagePullBackOff on the first init container, Pending
k -n noetl wait pod -l smoke.noetl.io/case=smoke-pull "${W[@]}" \
  --for=jsonpath='{.status.initContainerStatuses[0].state.waiting.reason}'=ImagePullBackOff >/dev/null
check "image-pull-fail: phase" Pending "$(pod_field noetl smoke-pull .status.phase)"

# --- unschedulable: requests more cpu than the fake node has
k -n noetl wait pod -l smoke.noetl.io/case=smoke-unschedulable "${W[@]}" \
  --for=jsonpath='{.status.conditions[?(@.type=="PodScheduled")].reason}'=Unschedulable >/dev/null
check "unschedulable: phase" Pending "$(pod_field noetl smoke-unschedulable .status.phase)"
check "unschedulable: not bound" "" "$(pod_field noetl smoke-unschedulable .spec.nodeName)"

# --- hang: Running for good (checked again at the end, after everything else)
k -n noetl wait pod -l smoke.noetl.io/case=smoke-hang --for=jsonpath='{.status.phase}'=Running "${W[@]}" >/dev/null

# --- hang + activeDeadlineSeconds: the Job controller fails the Job and removes the pod
k -n noetl wait job/smoke-deadline --for=condition=Failed "${W[@]}" >/dev/null
check "deadline: job failure reason" DeadlineExceeded "$(k -n noetl get job smoke-deadline -o jsonpath='{.status.conditions[?(@.type=="Failed")].reason}')"
wait_gone -n noetl pods -l smoke.noetl.io/case=smoke-deadline
check "deadline: pod removed" "" "$(k -n noetl get pods -l smoke.noetl.io/case=smoke-deadline -o name)"

# --- 5 MiB log, tail intact
k -n noetl-log-large wait job/smoke-large-log --for=condition=Complete "${W[@]}" >/dev/null
log="$(k -n noetl-log-large logs "$(pod_of noetl-log-large smoke-large-log)" -c script)"
check "large log: more than 5 MiB" yes "$( ((${#log} > 5 * 1024 * 1024)) && echo yes || echo "no (${#log} bytes)")"
check "large log: last line" '{"result": "success", "count": 52000}' "$(tail -n1 <<<"$log")"

# --- behaviours chosen by image
k -n noetl wait job/smoke-image-fail job/smoke-image-oom job/smoke-image-install --for=condition=Failed "${W[@]}" >/dev/null
check "image fail:7: exit code" 7 "$(pod_field noetl smoke-image-fail '.status.containerStatuses[0].state.terminated.exitCode')"
check "image oom: reason" OOMKilled "$(pod_field noetl smoke-image-oom '.status.containerStatuses[0].state.terminated.reason')"
check "image install-fail:4: init exit code" 4 "$(pod_field noetl smoke-image-install '.status.initContainerStatuses[0].state.terminated.exitCode')"
k -n noetl wait job/smoke-image-succeed --for=condition=Complete "${W[@]}" >/dev/null
ran=$(( $(date -d "$(pod_field noetl smoke-image-succeed '.status.containerStatuses[0].state.terminated.finishedAt')" +%s) \
  - $(date -d "$(pod_field noetl smoke-image-succeed '.status.startTime')" +%s) ))
check "image succeed:3s: ran 3-4 s" yes "$( ((ran >= 3 && ran <= 4)) && echo yes || echo "no (${ran}s)")"

# --- TTL-after-finished deletes the Job, the garbage collector its pod
wait_gone -n noetl jobs,pods -l smoke.noetl.io/case=smoke-ttl
check "ttl: job and pod gone" "" "$(k -n noetl get jobs,pods -l smoke.noetl.io/case=smoke-ttl -o name)"

# --- RBAC: a ServiceAccount token without roles is authenticated but forbidden
k -n noetl create serviceaccount smoke-restricted >/dev/null
token="$(k -n noetl create token smoke-restricted --duration 10m)"
server="$(k config view --minify -o jsonpath='{.clusters[0].cluster.server}')"
code="$(curl -sS -o /dev/null -w '%{http_code}' --cacert "$run/pki/ca.crt" \
  -H "Authorization: Bearer $token" "$server/apis/batch/v1/namespaces/noetl/jobs")"
check "rbac: restricted ServiceAccount gets 403" 403 "$code"
code="$(curl -sS -o /dev/null -w '%{http_code}' --cacert "$run/pki/ca.crt" \
  -H "Authorization: Bearer not-a-token" "$server/apis/batch/v1/namespaces/noetl/jobs")"
check "rbac: bad token gets 401" 401 "$code"

check "hang: still running" Running "$(pod_field noetl smoke-hang .status.phase)"
check "hang: script running" true "$(pod_field noetl smoke-hang '.status.containerStatuses[0].ready')"

# --- deleting Jobs removes their pods (kwok must not leave finalizer-blocked pods)
k delete jobs -A -l smoke.noetl.io/case --wait=true "${W[@]}" >/dev/null
wait_gone pods -A -l smoke.noetl.io/case
check "cleanup: no smoke pods left" "" "$(k get pods -A -l smoke.noetl.io/case -o name)"

echo "$passed passed, $failed failed"
[[ $failed -eq 0 ]]
