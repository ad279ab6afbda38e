#!/usr/bin/env bash
cd /work/main
date -u
echo "== prediction log: A one message per record (2464fef), B lists every 50 ms, bounded in records in the pipe"
rm -rf /tmp/cv/serving/plog/*
A_ARGS="--prediction-log /tmp/cv/serving/plog/a" B_ARGS="--prediction-log /tmp/cv/serving/plog/b" bench/serving/ab.sh /tmp/cv/serving/base/src /tmp/cv/serving/batched2/src 2 --seconds 20
date -u
