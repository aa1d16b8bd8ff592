#!/usr/bin/env bash
# Starts the test control plane from the binaries build.sh made: etcd,
# kube-apiserver (RBAC, ServiceAccount tokens), kube-controller-manager (Job,
# garbage collector, TTL-after-finished, ServiceAccount token controllers, ...),
# kube-scheduler and kwok (one fake node; pod behaviour from kwok/pod-stages.yaml,
# pod logs from kwok/cluster-logs.yaml). Everything listens on 127.0.0.1 only.
#
# Prints the admin kubeconfig path on stdout (all progress goes to stderr):
#   export KUBECONFIG="$(tests/cluster/up.sh)"
# Idempotent: when the cluster is already up it only prints the path. It never
# downloads anything; run build.sh first.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=lib.sh
source "$here/lib.sh"

started=$SECONDS
bin="$(cluster_bin_dir)"
run="$(cluster_run_dir)"
kubeconfig="$run/kubeconfig"
kubectl=("$bin/kubectl" --kubeconfig "$kubeconfig")

say() { echo "up.sh: $*" >&2; }
die() { say "error: $*"; exit 1; }

for b in etcd kube-apiserver kube-controller-manager kube-scheduler kwok kubectl; do
  [[ -x "$bin/$b" ]] || die "$bin/$b is missing; run $here/build.sh first"
done

all_alive() {
  local c
  for c in "${cluster_components[@]}"; do component_alive "$c" || return 1; done
}

# kwok opens one inotify instance per followed pod log stream, and the kernel's default
# per-user limit (128, shared with every other process of the user) runs out at about
# 100 concurrently running pods: kwok then answers the log request with an error line.
# Raised before the already-up check, so running up.sh again fixes a running cluster.
inotify_wanted=1024
inotify_knob=/proc/sys/fs/inotify/max_user_instances
if inotify_have="$(cat "$inotify_knob" 2>/dev/null)" && ((inotify_have < inotify_wanted)); then
  if (echo "$inotify_wanted" > "$inotify_knob") 2>/dev/null; then
    say "raised fs.inotify.max_user_instances from $inotify_have to $inotify_wanted (kwok needs one per followed log)"
  else
    say "warning: fs.inotify.max_user_instances is $inotify_have and this user cannot raise it;" \
      "with more than ~100 pods running at once kwok's log streams fail." \
      "Fix as root: sysctl -w fs.inotify.max_user_instances=$inotify_wanted"
  fi
fi

if [[ -f "$kubeconfig" ]] && all_alive && "${kubectl[@]}" get --raw /readyz >/dev/null 2>&1; then
  say "already up"
  echo "$kubeconfig"
  exit 0
fi
# A half-started or crashed cluster is thrown away: tests always get a fresh one.
"$here/down.sh" >&2

mkdir -p "$run"/{pids,logs,pki,etcd,log-files}
api_port="$(apiserver_port)"
api_url="https://127.0.0.1:$api_port"

for p in "$(etcd_port)" "$(etcd_peer_port)" "$api_port" "$(kwok_port)"; do
  if (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then
    die "port 127.0.0.1:$p is already in use (set NOETL_CLUSTER_*_PORT, see README.md)"
  fi
done

# --- PKI: one CA; a serving cert for the apiserver and kwok's kubelet endpoint; one
# admin client cert (group system:masters) shared by the admin kubeconfig, the
# controllers and the apiserver->kubelet connection; the ServiceAccount signing key.
pki="$run/pki"
openssl_quiet() { openssl "$@" >/dev/null 2>&1 || { openssl "$@"; die "openssl $1 failed"; }; }
openssl_quiet req -x509 -newkey rsa:2048 -nodes -days 30 -subj "/CN=noetl-test-ca" \
  -keyout "$pki/ca.key" -out "$pki/ca.crt"
issue_cert() { # name subject extensions
  openssl_quiet req -newkey rsa:2048 -nodes -subj "$2" -keyout "$pki/$1.key" -out "$pki/$1.csr"
  openssl_quiet x509 -req -in "$pki/$1.csr" -CA "$pki/ca.crt" -CAkey "$pki/ca.key" \
    -CAcreateserial -days 30 -out "$pki/$1.crt" -extfile <(printf '%s\n' "$3")
}
issue_cert serving "/CN=noetl-test-apiserver" \
  "subjectAltName=IP:127.0.0.1,IP:10.96.0.1,DNS:localhost,DNS:kubernetes,DNS:kubernetes.default,DNS:kubernetes.default.svc
extendedKeyUsage=serverAuth"
issue_cert admin "/O=system:masters/CN=noetl-test-admin" "extendedKeyUsage=clientAuth"
openssl_quiet genrsa -out "$pki/sa.key" 2048
openssl_quiet rsa -in "$pki/sa.key" -pubout -out "$pki/sa.pub"

b64() { base64 -w0 < "$1"; }
cat > "$kubeconfig" <<EOF
apiVersion: v1
kind: Config
clusters:
- name: noetl-test
  cluster:
    server: $api_url
    certificate-authority-data: $(b64 "$pki/ca.crt")
users:
- name: noetl-test-admin
  user:
    client-certificate-data: $(b64 "$pki/admin.crt")
    client-key-data: $(b64 "$pki/admin.key")
contexts:
- name: noetl-test
  context: {cluster: noetl-test, user: noetl-test-admin, namespace: noetl}
current-context: noetl-test
EOF
chmod 600 "$kubeconfig"

# --- kwok configuration: our pod stages + log rules (node stages stay kwok's default).
log_dir="$run/log-files"
cp "$here"/logs/*.log "$log_dir/"
# ~5 MiB of log text for truncation tests; the last line is a JSON result so a test
# can tell that the tail was kept.
awk 'BEGIN {
  pad = sprintf("%090d", 0); gsub(/0/, "x", pad)
  for (i = 1; i <= 52000; i++) printf "2026-01-01T00:00:02.000000000Z stdout F line %06d %s\n", i, pad
  print "2026-01-01T00:00:03.000000000Z stdout F {\"result\": \"success\", \"count\": 52000}"
}' > "$log_dir/large.log"
{
  cat "$here/kwok/pod-stages.yaml"
  echo "---"
  sed "s|@LOG_DIR@|$log_dir|g" "$here/kwok/cluster-logs.yaml"
} > "$run/kwok.yaml"

# --- processes
start() { # name binary args...
  local name=$1; shift
  setsid "$@" >"$run/logs/$name.log" 2>&1 < /dev/null &
  echo $! > "$run/pids/$name.pid"
}
wait_for() { # description seconds command...
  local what=$1 limit=$2; shift 2
  local deadline=$((SECONDS + limit))
  until "$@" >/dev/null 2>&1; do
    ((SECONDS < deadline)) || die "$what not ready after ${limit}s; logs in $run/logs"
    sleep 0.5
  done
}

etcd_url="http://127.0.0.1:$(etcd_port)"
peer_url="http://127.0.0.1:$(etcd_peer_port)"
start etcd "$bin/etcd" --name noetl-test --data-dir "$run/etcd" \
  --listen-client-urls "$etcd_url" --advertise-client-urls "$etcd_url" \
  --listen-peer-urls "$peer_url" --initial-advertise-peer-urls "$peer_url" \
  --initial-cluster "noetl-test=$peer_url" \
  --unsafe-no-fsync --log-level warn
wait_for etcd 30 curl -fsS "$etcd_url/health"

start kube-apiserver "$bin/kube-apiserver" \
  --etcd-servers "$etcd_url" \
  --bind-address 127.0.0.1 --advertise-address 127.0.0.1 --secure-port "$api_port" \
  --tls-cert-file "$pki/serving.crt" --tls-private-key-file "$pki/serving.key" \
  --client-ca-file "$pki/ca.crt" \
  --authorization-mode Node,RBAC \
  --service-account-issuer https://kubernetes.default.svc.cluster.local \
  --service-account-key-file "$pki/sa.pub" --service-account-signing-key-file "$pki/sa.key" \
  --service-cluster-ip-range 10.96.0.0/16 --endpoint-reconciler-type none \
  --kubelet-client-certificate "$pki/admin.crt" --kubelet-client-key "$pki/admin.key" \
  --kubelet-preferred-address-types InternalIP \
  --allow-privileged --enable-priority-and-fairness=false --profiling=false
wait_for kube-apiserver 90 "${kubectl[@]}" get --raw /readyz

start kube-controller-manager "$bin/kube-controller-manager" \
  --kubeconfig "$kubeconfig" --leader-elect=false --secure-port 0 \
  --service-account-private-key-file "$pki/sa.key" --root-ca-file "$pki/ca.crt" \
  --controllers '*' --profiling=false
start kube-scheduler "$bin/kube-scheduler" \
  --kubeconfig "$kubeconfig" --leader-elect=false --secure-port 0 --profiling=false
start kwok "$bin/kwok" \
  --kubeconfig "$kubeconfig" --config "$run/kwok.yaml" \
  --manage-all-nodes=false --manage-nodes-with-annotation-selector kwok.x-k8s.io/node=fake \
  --node-ip 127.0.0.1 --node-port "$(kwok_port)" --server-address "127.0.0.1:$(kwok_port)" \
  --tls-cert-file "$pki/serving.crt" --tls-private-key-file "$pki/serving.key" \
  --node-lease-duration-seconds 40

"${kubectl[@]}" apply -f "$here/kwok/node.yaml" >&2
for ns in noetl noetl-log-traceback noetl-log-large; do
  "${kubectl[@]}" create namespace "$ns" --dry-run=client -o yaml | "${kubectl[@]}" apply -f - >&2
done
wait_for "node kwok-node-0" 60 "${kubectl[@]}" wait --for=condition=Ready node/kwok-node-0 --timeout=1s
# Pods are refused until the ServiceAccount controller made the namespace's `default`.
wait_for "ServiceAccount noetl/default" 60 "${kubectl[@]}" -n noetl get serviceaccount default
for c in "${cluster_components[@]}"; do
  component_alive "$c" || die "$c exited; see $run/logs/$c.log"
done

say "cluster up in $((SECONDS - started))s (apiserver $api_url, logs in $run/logs)"
echo "$kubeconfig"
