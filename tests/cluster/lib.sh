# Shared paths and versions for build.sh / up.sh / down.sh / smoke.sh (sourced).
cluster_here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"

cluster_cache() { echo "${NOETL_CLUSTER_CACHE:-$HOME/.cache/noetl-host/cluster}"; }

# Version of a required module, read from a committed go.mod.
module_version() { awk -v m="$2" '{ sub(/^require[ \t]+/, "") } $1 == m && $2 ~ /^v/ { print $2; exit }' "$1"; }
k8s_version() { module_version "$cluster_here/tools/go.mod" k8s.io/kubernetes; }
kwok_version() { module_version "$cluster_here/tools/kwok/go.mod" sigs.k8s.io/kwok; }

cluster_bin_dir() { echo "$(cluster_cache)/$(k8s_version)/bin"; }
# A second, independent cluster: its own NOETL_CLUSTER_RUN_DIR and NOETL_CLUSTER_*_PORT.
cluster_run_dir() { echo "${NOETL_CLUSTER_RUN_DIR:-$(cluster_cache)/run}"; }

# Loopback ports of the test cluster (override when they clash with something else).
etcd_port() { echo "${NOETL_CLUSTER_ETCD_PORT:-32379}"; }
etcd_peer_port() { echo "${NOETL_CLUSTER_ETCD_PEER_PORT:-32380}"; }
apiserver_port() { echo "${NOETL_CLUSTER_APISERVER_PORT:-36443}"; }
kwok_port() { echo "${NOETL_CLUSTER_KWOK_PORT:-30247}"; }

# The components up.sh starts, in start order (down.sh stops them in reverse).
cluster_components=(etcd kube-apiserver kube-controller-manager kube-scheduler kwok)

# True when the process recorded for component $1 is alive and still runs our
# binary: a zombie (up.sh's children are orphans nobody may reap) or a recycled
# pid does not count.
component_alive() {
  local pidfile pid stat
  pidfile="$(cluster_run_dir)/pids/$1.pid"
  [[ -f $pidfile ]] || return 1
  pid="$(cat "$pidfile")"
  stat="$(cat "/proc/$pid/stat" 2>/dev/null)" || return 1
  [[ "${stat##*) }" != Z* ]] || return 1
  [[ "$(readlink "/proc/$pid/exe" 2>/dev/null)" == "$(readlink -f "$(cluster_bin_dir)/$1")" ]]
}
