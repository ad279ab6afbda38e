#!/usr/bin/env bash
cd /work/main
OLD=/tmp/cv/serving/old/src; NEW=/tmp/cv/serving/slice/src
date -u
echo "== slice: A default, B 0.1 ms; busy 2, v2"
bench/serving/ab.sh $OLD $NEW 6 --seconds 10 --busy 2
date -u
