#!/usr/bin/env bash
cd /work/main
OLD=/tmp/cv/serving/old/src; NEW=/tmp/cv/serving/slice/src
date -u
echo "== slice: A default, B 0.1 ms; busy 2"
bench/serving/ab.sh $OLD $NEW 3 --seconds 10 --busy 2 --protocol invocations
echo "== slice: two workers 16 connections, busy 0"
bench/serving/ab.sh $OLD $NEW 2 --seconds 10 --workers 2 --connections 16
date -u
