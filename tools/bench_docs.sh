#!/bin/sh
# Regenerates docs/benchmarks.md, docs/benchmarks.json and firmware/amp_fit.bzl (the amp's
# default model by measured fit) with today's engines: builds the benchmark image, runs
# `valvenet bench` over it (instructions in QEMU, traces through the cycle model; ~10 minutes
# on an idle 2-core machine), then builds the amp image with the default the table chose and
# adds its memory use to the page.
#   tools/bench_docs.sh [extra valvenet bench options, e.g. --dwt timing.json]
# BAZEL and VALVENET override the commands (defaults: ./bazelw, .venv/bin/valvenet); both
# are split into words, e.g. VALVENET="env PYTHONPATH=python .venv/bin/python -m valvenet.cli".
set -eu
cd "$(dirname "$0")/.."
bazel=${BAZEL:-./bazelw}
valvenet=${VALVENET:-.venv/bin/valvenet}
candidates=""
for model in models/trained/*.vnet; do
  candidates="$candidates --candidate $model"
done
$bazel build //firmware:bench_mps2_an500
$valvenet bench --firmware bazel-bin/firmware/bench_mps2_an500.elf --out docs \
  --amp-fit firmware/amp_fit.bzl $candidates "$@"
$bazel build //firmware:amp_nucleo_f767zi
exec $valvenet bench --render-only --out docs --image bazel-bin/firmware/amp_nucleo_f767zi.size.txt "$@"
