#!/usr/bin/env bash
cd /work/main
S=/tmp/cv/serving/slice/src
date -u
echo "== writer nice: A slice only, B slice + writer nice 19; prediction log on"
rm -rf /tmp/cv/serving/plog/*
A_ARGS="--prediction-log /tmp/cv/serving/plog/a" B_ARGS="--prediction-log /tmp/cv/serving/plog/b" bench/serving/ab.sh $S /tmp/cv/serving/nice/src 3 --seconds 20
echo "== affinity: A unpinned, B taskset -c 0 (wrk on 1)"
B_BIN="taskset -c 0" bench/serving/ab.sh $S $S 2 --seconds 10 --protocol invocations
B_BIN="taskset -c 0" bench/serving/ab.sh $S $S 2 --seconds 10 --protocol invocations --busy 2
echo "== parser: A httptools, B h11"
bench/serving/ab.sh $S /tmp/cv/serving/h11/src 2 --seconds 10
date -u
