#!/usr/bin/env bash
# One GPU session in one command: the device tests, the training and level-set benchmarks on CUDA,
# and the `paper` preset on fold 0 for every network, in at most 8 minutes, written to one JSON.
#
#   bash benchmarks/gpu_session.sh [--out DIR] [--budget SECONDS] [--networks "unet lsn ..."] [--work DIR] [--keep]
#   bash benchmarks/gpu_session.sh --dry-run --out DIR   # the same steps on the CPU, tiny, <= 2 minutes
#
# Run it from anywhere; the steps run in the repository root. Without --dry-run it refuses to start
# when torch sees no CUDA device. Steps, in order (each timed, each with its own log):
#
#   data         (in the background from the start) the phantom the training step reads:
#                `lsn-explorer data phantom` 20 volumes x 512^2 x 48 slices, seed 0 = the `paper`
#                preset's default set (dry run: 5 x 64^2 x 8).
#   tests        pytest on the device tests: tests/test_devices.py, the cuda:0 cases of
#                tests/test_solver.py and tests/test_stencils.py, and every test marked `gpu`
#                (dry run: tests/test_devices.py but its table2 case, and the cpu cases). JUnit XML -> counts.
#   train_speed  benchmarks/train_speed.py --device cuda: every model at 128^2 and 256^2, trainer
#                against a bare loop (dry run: unet at 32^2, 4 slices, 1 repeat, CPU).
#   levelset     benchmarks/levelset_speed.py --device cuda --sizes 512: 32 slices, alone and as one
#                batch of 32, every backend of ours on the GPU against SimpleITK's GAC (and
#                scikit-image) on the CPU, 8 threads each (dry run: --quick at 64^2, CPU).
#   train        `lsn-explorer train NET --preset paper --fold 0 --epochs 2` for unet, lsn, lsn-g and
#                speed-map-lsn (or --networks), in one process, each network's failure its own
#                (dry run: unet only, --preset quick, 1 epoch, CPU; one epoch of the LSNs takes
#                30-60 s on a CPU).
#
# The session has a budget (default 480 s; dry run 120 s; --budget S): a step gets at most its own
# cap and what is left of the budget, and a step with under 10 s left is "skipped". A step's status
# is "ok", "failed" (exit status rc), "timeout" or "skipped".
#
# Output, under --out (default runs/gpu_session-<UTC time>[-dry-run], git-ignored):
#   gpu_session.json   {"meta": {dry_run, budget_s, total_s, within_budget, started, finished, host,
#                      python, torch, gpu (nvidia-smi), git_commit}, "steps": {name: {status, rc, seconds,
#                      timeout_s, command, log, result}}}; `result` is the step's own output: the
#                      test counts, train_speed.py's and levelset_speed.py's JSON, and per network its
#                      seconds and last history row.
#   steps/NAME.*       each step's status and raw output; logs/NAME.log its stdout and stderr.
# Data and run folders (large) go to --work (default a temporary folder, deleted at the end unless
# --keep). The exit status is 0 when every step is "ok", else 1; the JSON is written either way
# (2: a bad argument, or no CUDA without --dry-run). On a machine lent for the session, keep the
# JSON and pack the rest: `bash benchmarks/gpu_session.sh --out /tmp/gs; cp /tmp/gs/gpu_session.json
# "$OUT"/; tar czf "$OUT"/gpu_session_logs.tgz -C /tmp/gs steps logs`.
#
# Environment: PYTHON (default: python3, or python) runs everything; the repository need not be
# installed on PATH as `lsn-explorer`.

set -euo pipefail

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
PYTHON="${PYTHON:-$(command -v python3 || command -v python)}"
DRY_RUN=0
OUT=""
WORK=""
KEEP=0
BUDGET=""
NETWORKS=""

usage() { awk 'NR == 1 { next } /^#/ { sub(/^# ?/, ""); print; next } { exit }' "${BASH_SOURCE[0]}"; }

while [[ $# -gt 0 ]]; do
    case "$1" in
        --dry-run) DRY_RUN=1 ;;
        --out) OUT="$2"; shift ;;
        --work) WORK="$2"; shift ;;
        --budget) BUDGET="$2"; shift ;;
        --networks) NETWORKS="$2"; shift ;;
        --keep) KEEP=1 ;;
        -h|--help) usage; exit 0 ;;
        *) echo "gpu_session.sh: unknown argument '$1' (see --help)" >&2; exit 2 ;;
    esac
    shift
done

# --out and --work are relative to where the script was called from, the steps run in the repository root
[[ -z "$OUT" || "$OUT" == /* ]] || OUT="$PWD/$OUT"
[[ -z "$WORK" || "$WORK" == /* ]] || WORK="$PWD/$WORK"
cd "$REPO"
if [[ $DRY_RUN == 0 ]] && ! "$PYTHON" -c 'import sys, torch; sys.exit(0 if torch.cuda.is_available() else 1)'; then
    echo "gpu_session.sh: torch sees no CUDA device; run with --dry-run for the CPU rehearsal" >&2
    exit 2
fi

STAMP="$(date -u +%Y%m%dT%H%M%SZ)"
if [[ -z "$OUT" ]]; then
    OUT="runs/gpu_session-$STAMP$([[ $DRY_RUN == 1 ]] && echo -dry-run || true)"
fi
if [[ -z "$BUDGET" ]]; then
    BUDGET=$([[ $DRY_RUN == 1 ]] && echo 120 || echo 480)
fi
mkdir -p "$OUT/steps" "$OUT/logs"
OUT="$(cd "$OUT" && pwd)"
if [[ -z "$WORK" ]]; then
    WORK="$(mktemp -d "${TMPDIR:-/tmp}/gpu_session.XXXXXX")"
    [[ $KEEP == 1 ]] || trap 'rm -rf "$WORK"' EXIT
fi
mkdir -p "$WORK"

now_ms() { echo $(( $(date +%s%N) / 1000000 )); }
START_MS=$(now_ms)
STARTED="$(date -u +%Y-%m-%dT%H:%M:%SZ)"

# run_step NAME CAP_SECONDS COMMAND...: run COMMAND with a timeout, log it, write steps/NAME.status.json
run_step() {
    local name="$1" cap="$2"; shift 2
    local left limit t0 rc status ms
    left=$(( BUDGET - ($(now_ms) - START_MS) / 1000 ))
    limit=$(( cap < left ? cap : left ))
    if (( limit < 10 )); then
        status=skipped; rc=-1; ms=0
        echo "[$name] skipped: ${left}s left of the ${BUDGET}s budget" | tee "$OUT/logs/$name.log"
    else
        echo "[$name] started (at most ${limit}s): $*"
        t0=$(now_ms)
        if timeout --kill-after=10 "$limit" "$@" >"$OUT/logs/$name.log" 2>&1; then rc=0; else rc=$?; fi
        ms=$(( $(now_ms) - t0 ))
        case $rc in 0) status=ok ;; 124|137) status=timeout ;; *) status=failed ;; esac
        echo "[$name] $status after $(( ms / 1000 ))s (rc $rc)"
        [[ $status == ok ]] || tail -n 20 "$OUT/logs/$name.log" | sed "s/^/[$name]   /"
    fi
    "$PYTHON" - "$OUT/steps/$name.status.json" "$name" "$status" "$rc" "$ms" "$limit" "logs/$name.log" "$@" <<'PY'
import json, sys
path, name, status, rc, ms, limit, log, *command = sys.argv[1:]
json.dump({"name": name, "status": status, "rc": int(rc), "seconds": int(ms) / 1000, "timeout_s": int(limit),
           "command": command, "log": log}, open(path, "w"), indent=1)
PY
}

# ---------------------------------------------------------------- the steps' settings
LSN=("$PYTHON" -c 'import sys; from lsn_explorer.cli import main; sys.exit(main())')
if [[ $DRY_RUN == 1 ]]; then
    DEVICE=cpu
    DATA_ARGS=(--volumes 5 --size 64 --slices 8)
    TEST_K="(test_devices and not table2) or cpu-dtype"
    TRAIN_SPEED_ARGS=(--models unet --sizes 32 --slices 4 --batch-size 2 --repeats 1 --threads 1)
    LEVELSET_ARGS=(--quick --sizes 64 --backends auto fused --threads 1)
    PRESET=quick; EPOCHS=1; NETWORKS="${NETWORKS:-unet}"
else
    DEVICE=cuda
    DATA_ARGS=(--volumes 20 --size 512 --slices 48)
    TEST_K="test_devices or cuda or gpu"
    TRAIN_SPEED_ARGS=(--sizes 128 256)
    LEVELSET_ARGS=(--sizes 512 --threads 8 --backends auto auto_clamp fused compiled reference)
    PRESET=paper; EPOCHS=2; NETWORKS="${NETWORKS:-unet lsn lsn-g speed-map-lsn}"
fi
read -r -a NETWORK_LIST <<<"$NETWORKS"
TEST_FILES=(tests/test_devices.py tests/test_solver.py tests/test_stencils.py)
while IFS= read -r f; do
    [[ " ${TEST_FILES[*]} " == *" $f "* ]] || TEST_FILES+=("$f")
done < <(grep -l "mark\.gpu" tests/test_*.py 2>/dev/null || true)

# ---------------------------------------------------------------- data, in the background
run_step data 300 "${LSN[@]}" data phantom --out "$WORK/data" "${DATA_ARGS[@]}" &
DATA_PID=$!

run_step tests 120 "$PYTHON" -m pytest -q -p no:cacheprovider "${TEST_FILES[@]}" -k "$TEST_K" \
    --junitxml "$OUT/steps/tests.xml"

run_step train_speed 180 "$PYTHON" benchmarks/train_speed.py --device "$DEVICE" "${TRAIN_SPEED_ARGS[@]}" \
    --json "$OUT/steps/train_speed.json"

run_step levelset 180 "$PYTHON" benchmarks/levelset_speed.py --device "$DEVICE" "${LEVELSET_ARGS[@]}" \
    --json "$OUT/steps/levelset.json"

wait "$DATA_PID" || true

run_step train 300 "$PYTHON" - "$WORK/data" "$PRESET" "$EPOCHS" "$DEVICE" "$WORK/runs" "$OUT/steps/train.json" \
    "${NETWORK_LIST[@]}" <<'PY'
"""`lsn-explorer train NET --data DATA --preset P --fold 0 --epochs E --device D` for every network, one process."""
import csv, json, sys, time, traceback
from pathlib import Path

from lsn_explorer.train import train_command

data, preset, epochs, device, runs, out, *networks = sys.argv[1:]
results, failed = {}, False
for net in networks:
    command = (f"lsn-explorer train {net} --data {data} --fold 0 --preset {preset} --epochs {epochs} "
               f"--device {device} --out {runs}/{net}")
    t0 = time.perf_counter()
    try:
        run = train_command(net, data=data, fold=0, preset=preset, out=Path(runs) / net, epochs=int(epochs),
                            device=device, seed=0)
        with open(run / "history.csv") as fh:
            history = [{k: float(v) if v else None for k, v in row.items()} for row in csv.DictReader(fh)]
        results[net] = {"status": "ok", "seconds": round(time.perf_counter() - t0, 2), "command": command,
                        "epochs": len(history), "last": history[-1] if history else None}
    except Exception as exc:  # one network failing must not lose the others
        failed = True
        traceback.print_exc()
        results[net] = {"status": "failed", "seconds": round(time.perf_counter() - t0, 2), "command": command,
                        "error": f"{type(exc).__name__}: {exc}"[:500]}
    print(f"{net}: {results[net]['status']} in {results[net]['seconds']} s", flush=True)
Path(out).write_text(json.dumps({"preset": preset, "fold": 0, "epochs": int(epochs), "device": device,
                                 "networks": results}, indent=1))
sys.exit(1 if failed else 0)
PY

# ---------------------------------------------------------------- one JSON
TOTAL_MS=$(( $(now_ms) - START_MS ))
"$PYTHON" - "$OUT" "$DRY_RUN" "$BUDGET" "$TOTAL_MS" "$STARTED" <<'PY'
import importlib.metadata, json, platform, subprocess, sys, time
import xml.etree.ElementTree as ET
from pathlib import Path

out, dry_run, budget, started = Path(sys.argv[1]), sys.argv[2] == "1", float(sys.argv[3]), sys.argv[5]
total = int(sys.argv[4]) / 1000


def tests_result(path: Path):
    root = ET.parse(path).getroot()
    suites = [root] if root.tag == "testsuite" else list(root)
    counts = {k: sum(int(s.get(k, 0)) for s in suites) for k in ("tests", "failures", "errors", "skipped")}
    counts["passed"] = counts["tests"] - counts["failures"] - counts["errors"] - counts["skipped"]
    counts["not_passed"] = [f"{c.get('classname')}::{c.get('name')}" for s in suites for c in s.iter("testcase")
                            if c.find("failure") is not None or c.find("error") is not None]
    return counts


results = {"tests": ("tests.xml", tests_result), "train_speed": ("train_speed.json", None),
           "levelset": ("levelset.json", None), "train": ("train.json", None)}
steps = {}
for name in ("data", "tests", "train_speed", "levelset", "train"):
    status_file = out / "steps" / f"{name}.status.json"
    step = json.loads(status_file.read_text()) if status_file.is_file() else {"name": name, "status": "missing"}
    if name in results:
        file, parse = results[name]
        path = out / "steps" / file
        try:
            step["result"] = (parse(path) if parse else json.loads(path.read_text())) if path.is_file() else None
        except (ValueError, ET.ParseError) as exc:
            step["result"] = {"unreadable": f"{type(exc).__name__}: {exc}"}
    steps[name] = step


def command_output(*command):
    """What ``command`` prints (stripped), or None; nothing heavy is imported here."""
    try:
        return subprocess.run(command, capture_output=True, text=True, check=True, timeout=20).stdout.strip() or None
    except (OSError, subprocess.SubprocessError):
        return None


try:
    torch_version = importlib.metadata.version("torch")
except importlib.metadata.PackageNotFoundError:
    torch_version = None
meta = {"dry_run": dry_run, "budget_s": budget, "total_s": round(total, 2), "within_budget": total <= budget,
        "started": started, "finished": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()), "host": platform.node(),
        "python": platform.python_version(), "torch": torch_version,
        "gpu": None if dry_run else command_output("nvidia-smi", "--query-gpu=name,driver_version,memory.total",
                                                   "--format=csv,noheader"),
        "git_commit": command_output("git", "rev-parse", "HEAD")}
(out / "gpu_session.json").write_text(json.dumps({"meta": meta, "steps": steps}, indent=1) + "\n")
print(f"{'step':12s} {'status':8s} {'seconds':>8s}")
for name, step in steps.items():
    print(f"{name:12s} {step['status']:8s} {step.get('seconds', 0):8.1f}")
print(f"total {total:.1f} s of a {budget:.0f} s budget; wrote {out / 'gpu_session.json'}")
sys.exit(0 if all(s["status"] == "ok" for s in steps.values()) else 1)
PY
