#!/usr/bin/env bash
cd /work/main
date -u
echo "== prediction log: A one message per record (2464fef), B lists handed over every 50 ms"
rm -rf /tmp/cv/serving/plog/*
A_ARGS="--prediction-log /tmp/cv/serving/plog/a" B_ARGS="--prediction-log /tmp/cv/serving/plog/b" bench/serving/ab.sh /tmp/cv/serving/base/src /tmp/cv/serving/batched/src 3 --seconds 20
A_ARGS="--prediction-log /tmp/cv/serving/plog/a" B_ARGS="--prediction-log /tmp/cv/serving/plog/b" bench/serving/ab.sh /tmp/cv/serving/base/src /tmp/cv/serving/batched/src 1 --seconds 10 --connections 16
date -u
