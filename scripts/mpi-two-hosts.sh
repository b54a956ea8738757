#!/usr/bin/env bash
# Multi-machine check on one machine: two "hosts" as two network namespaces joined by a veth
# pair, each with its own host name, mpirun starting the remote daemon through `ip netns exec`
# (its rsh agent) instead of ssh, and MPI traffic forced onto TCP (`--mca btl self,tcp`) over the
# veth. Runs the collectives check, a hierarchical all-reduce with 2 ranks on each "host", and a
# 2-"host" training run, then removes the namespaces.
# Needs root, iproute2 and util-linux (unshare). Usage: bash scripts/mpi-two-hosts.sh (after npm run build)
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
tmp="$(mktemp -d)"
cleanup() { ip netns del hfA 2>/dev/null || true; ip netns del hfB 2>/dev/null || true; rm -rf "$tmp"; }
trap cleanup EXIT
ip netns del hfA 2>/dev/null || true; ip netns del hfB 2>/dev/null || true

ip netns add hfA; ip netns add hfB
ip link add hfvA type veth peer name hfvB
ip link set hfvA netns hfA; ip link set hfvB netns hfB
ip -n hfA addr add 10.77.0.1/24 dev hfvA; ip -n hfB addr add 10.77.0.2/24 dev hfvB
for ns in hfA hfB; do ip -n "$ns" link set lo up; done
ip -n hfA link set hfvA up; ip -n hfB link set hfvB up

cat > "$tmp/rsh" <<'AGENT'
#!/bin/sh
host=$1; shift
case "$host" in 10.77.0.1) ns=hfA; name=nodeA ;; 10.77.0.2) ns=hfB; name=nodeB ;; *) echo "unknown host $host" >&2; exit 1 ;; esac
exec ip netns exec "$ns" unshare --uts sh -c "hostname $name; $*"
AGENT
chmod +x "$tmp/rsh"

mpi="mpirun --allow-run-as-root -np 2 --host 10.77.0.1:1,10.77.0.2:1 --mca plm_rsh_agent $tmp/rsh"
mpi="$mpi --mca btl self,tcp --mca btl_tcp_if_include 10.77.0.0/24 --mca oob_tcp_if_include 10.77.0.0/24"
on_a() { ip netns exec hfA unshare --uts sh -c "hostname nodeA; $*"; }

echo "== collectives across the two hosts"
on_a "$mpi $(command -v node) $root/dist/test/fixtures/mpi-collectives-child.js $tmp"
node -e '
const fs = require("fs");
const [a, b] = [0, 1].map((r) => JSON.parse(fs.readFileSync(process.argv[1] + "/rank" + r + ".json", "utf8")));
const common = (g) => JSON.stringify({ ...g, rank: 0, localRank: 0, gather0: 0, gather1: 0 });
const same = common(a) === common(b) && a.gather0.length === 2 && b.gather1.length === 2;
console.log("ranks", a.rank, b.rank, "local ranks", a.localRank, b.localRank, "sum", JSON.stringify(a.sum), "same results on both hosts (gathers on their roots):", same);
if (!same || a.localRank !== 0 || b.localRank !== 0) process.exit(1);' "$tmp"

echo "== all-reduce with 2 ranks on each host: shared memory within a host, TCP between them"
mkdir "$tmp/hier"
mpi4="${mpi/-np 2 --host 10.77.0.1:1,10.77.0.2:1/-np 4 --host 10.77.0.1:2,10.77.0.2:2 --oversubscribe}"
on_a "$mpi4 $(command -v node) $root/dist/test/fixtures/node-allreduce-child.js $tmp/hier"
node -e '
const fs = require("fs");
const ranks = [0, 1, 2, 3].map((r) => JSON.parse(fs.readFileSync(process.argv[1] + "/rank" + r + ".json", "utf8")));
const transports = new Set(ranks.map((r) => r.transport));
const same = Object.keys(ranks[0].results).every((k) => new Set(ranks.map((r) => r.results[k].sha256)).size === 1);
console.log([...transports].join(" | "), "; the same bits on all 4 ranks:", same);
if (!same || transports.size !== 1 || !ranks[0].transport.includes("within each machine and MPI between machines")) process.exit(1);' "$tmp/hier"

echo "== training across the two hosts (shared work dir)"
cat > "$tmp/cfg.json" <<'CFG'
{ "model": { "type": "MLPClassifier", "inputShape": [4], "hiddenUnits": [8], "numClasses": 3 },
  "data": { "train": { "dataset": { "type": "Synthetic", "numSamples": 48, "inputShape": [4], "numClasses": 3 }, "batchSize": 4, "shuffle": true } },
  "optimizer": { "type": "SGD", "lr": 0.1 }, "optimizerConfig": {}, "checkpointConfig": { "interval": 1 },
  "logConfig": { "interval": 3, "hooks": [{ "type": "TextLoggerHook" }] },
  "runner": { "type": "EpochBasedRunner", "maxEpochs": 2 }, "workflow": [["train", 1]] }
CFG
on_a "cd $tmp && HOOKFLOW_BACKEND=wasm $mpi -x HOOKFLOW_BACKEND $(command -v node) $root/dist/src/cli/main.js train cfg.json --work-dir $tmp/work --launcher mpi --no-progress" | grep -E '^Epoch|^Processes|rank [0-9]'
# Ranks on different hosts cannot share memory: the all-reduce must go through MPI.
grep -q 'Processes: Open MPI, 2 ranks on several machines (1 here), all-reduce through MPI_Allreduce' "$tmp"/work/*.log
ls "$tmp/work"
echo "two-host check passed"
