#!/usr/bin/env bash
cd /work/main
OLD=/tmp/cv/serving/old/src; NEW=/tmp/cv/serving/slice/src
date -u
echo "== slice: A default, B 0.1 ms; busy 2, more pairs"
bench/serving/ab.sh $OLD $NEW 5 --seconds 10 --busy 2 --protocol invocations
echo "== slice: two workers, one connection, busy 2"
bench/serving/ab.sh $OLD $NEW 3 --seconds 10 --busy 2 --workers 2
date -u
