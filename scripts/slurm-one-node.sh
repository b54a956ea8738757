#!/usr/bin/env bash
# A one-node Slurm cluster on this machine, for testing `--launcher slurm` for real:
#   bash scripts/slurm-one-node.sh start   # prints the SLURM_CONF to export
#   bash scripts/slurm-one-node.sh stop
# It runs munged, slurmctld and slurmd as root with a private configuration in
# $HOOKFLOW_SLURM_DIR (default /tmp/hookflow-slurm), so a machine's own /etc/slurm is never
# touched; client commands find it through SLURM_CONF. Idempotent: a running cluster is reused.
# Needs root and Debian's slurmctld, slurmd, slurm-client and munge (installed when missing).
set -euo pipefail
dir=${HOOKFLOW_SLURM_DIR:-/tmp/hookflow-slurm}
conf=$dir/slurm.conf
host=$(hostname -s)

stop() {
  [ -f "$dir/slurmd.pid" ] && kill "$(cat "$dir/slurmd.pid")" 2>/dev/null || true
  [ -f "$dir/slurmctld.pid" ] && kill "$(cat "$dir/slurmctld.pid")" 2>/dev/null || true
}

ready() { SLURM_CONF=$conf sinfo -h -o '%T' 2>/dev/null | grep -Eq '^(idle|mixed|allocated)'; }

start() {
  if [ "$(id -u)" != 0 ]; then echo "slurm-one-node: needs root" >&2; exit 1; fi
  local missing=()
  for p in slurmctld slurmd slurm-client munge; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
  done
  if [ ${#missing[@]} -gt 0 ]; then
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq >/dev/null
    apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  fi
  if [ -f "$conf" ] && ready; then echo "$conf"; return; fi
  stop
  mkdir -p "$dir/state" "$dir/spool"
  cat > "$conf" <<CONF
ClusterName=hookflow
SlurmctldHost=$host
SlurmctldPort=6917
SlurmdPort=6918
AuthType=auth/munge
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SlurmUser=root
SlurmdUser=root
StateSaveLocation=$dir/state
SlurmdSpoolDir=$dir/spool
SlurmctldPidFile=$dir/slurmctld.pid
SlurmdPidFile=$dir/slurmd.pid
SlurmctldLogFile=$dir/slurmctld.log
SlurmdLogFile=$dir/slurmd.log
SchedulerType=sched/builtin
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
ReturnToService=2
NodeName=$host CPUs=$(nproc) State=UNKNOWN
PartitionName=debug Nodes=$host Default=YES MaxTime=INFINITE State=UP OverSubscribe=YES
CONF
  if ! pgrep -x munged >/dev/null; then
    [ -f /etc/munge/munge.key ] || mungekey --create >/dev/null
    mkdir -p /run/munge && chown munge:munge /run/munge
    runuser -u munge -- /usr/sbin/munged
  fi
  slurmctld -f "$conf"
  slurmd -f "$conf"
  for _ in $(seq 1 50); do
    if ready; then echo "$conf"; return; fi
    sleep 0.2
  done
  echo "slurm-one-node: the node did not become ready; see $dir/slurmctld.log and $dir/slurmd.log" >&2
  exit 1
}

case "${1:-start}" in
  start) start ;;
  stop) stop ;;
  *) echo "usage: $0 start|stop" >&2; exit 2 ;;
esac
