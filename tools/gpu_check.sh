#!/usr/bin/env bash
# The GPU check of a session lent an accelerator (run by the device tool from the repository
# root; $OUT comes back). Runs the main job, real-MNIST LeNet-5, the step benchmarks and the
# engine's tests on the GPU, each under a time limit, and copies the numbers into $OUT.
# Needs the mnist1d wheel in .whl/ and the MNIST test set in .gpu_data/mnist-t10k (carried).
set -u
export PYTHONUNBUFFERED=1
python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site .whl/*.whl \
    || exit 1
export PYTHONPATH=/tmp/site:$PWD
RUNS=/tmp/runs
mkdir -p "$RUNS"
log="$OUT/gpu.log"
step() {  # step SECONDS NAME COMMAND...: run, time, keep the output
  local limit=$1 name=$2; shift 2
  echo "=== $name ($(date +%T)): $*" | tee -a "$log"
  local t0=$(date +%s.%N)
  timeout "$limit" "$@" >>"$log" 2>&1
  local rc=$?
  echo "=== $name: exit $rc after $(python3 -c "print(f'{$(date +%s.%N) - $t0:.1f}')") s" | tee -a "$log"
}
nvidia-smi -L | tee -a "$log"
python3 -c "import jax, flax, optax; print('jax', jax.__version__, 'flax', flax.__version__, 'optax', optax.__version__, jax.devices())" 2>&1 | tee -a "$log"
step 200 main-job python3 experiments/train.py --no-progress --out "$RUNS/train"
step 150 mnist-cnn python3 experiments/mnist_cnn.py --data-dir .gpu_data/mnist-t10k --train-count 8000 --no-progress \
    --out "$RUNS/mnist_cnn"
step 100 train-step python3 benchmarks/train_step.py --out "$RUNS/bench"
step 150 conv-step python3 benchmarks/conv_step.py --no-torch --resnet-steps 50 --resnet-rounds 5 --out "$RUNS/bench"
# The lectures' experiments at their full configurations, as time allows.
for name in regularisation initialisation minibatch_sgd binary_cross_entropy decision_boundaries gd_vs_sgd \
            universal_approximation deep_net_regions; do
  step 90 "$name" python3 "experiments/$name.py" --no-progress --out "$RUNS/$name"
done
cp "$RUNS/train/metrics.json" "$OUT/train_metrics.json" 2>/dev/null
cp "$RUNS/mnist_cnn/metrics.json" "$OUT/mnist_cnn_metrics.json" 2>/dev/null
cp "$RUNS/bench/train_step.json" "$RUNS/bench/conv_step.json" "$OUT/" 2>/dev/null
(cd "$RUNS" && find . -name '*.json' -o -name '*.png' | tar czf "$OUT/runs.tar.gz" -T -)
tail -n 3 "$log"
