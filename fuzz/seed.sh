#!/bin/sh
# Writes the seed corpus of the `reader` fuzz target: the hand-built valid models of
# tests/tests/format_reader.rs, serialised by the .mote writer (a few KiB each), and
# the int8 and int16 exports of host-trainer/tests/export.rs's every-layer model.
set -eu
cd "$(dirname "$0")/.."
MOTE_FUZZ_SEEDS="$PWD/fuzz/corpus/reader" \
    cargo test -p mote-tests --test format_reader -- --exact write_fuzz_seeds
# Every operator the exporter writes (residual ADD, CONCATENATION, LOGISTIC, TANH,
# SOFTMAX in int8 and int16, …), from the export test's model.
MOTE_FUZZ_SEEDS="$PWD/fuzz/corpus/reader" \
    cargo test --release -p mote-trainer --test export -- --exact \
    every_exportable_layer_tracks_the_float_model_in_int8_and_int16
ls -l fuzz/corpus/reader
