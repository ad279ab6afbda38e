#!/usr/bin/env bash
cd /work/main
OLD=/tmp/cv/serving/old/src; NEW=/tmp/cv/serving/slice/src
date -u
bench/serving/ab.sh $OLD $NEW 2 --seconds 10 --busy 0
bench/serving/ab.sh $OLD $NEW 2 --seconds 10 --busy 1
bench/serving/ab.sh $OLD $NEW 2 --seconds 10 --busy 1 --protocol invocations
bench/serving/ab.sh $OLD $NEW 2 --seconds 10 --busy 0 --workers 2 --protocol invocations
bench/serving/ab.sh $OLD $NEW 2 --seconds 10 --busy 0 --workers 2 --connections 16
bench/serving/ab.sh $OLD $NEW 1 --seconds 10 --busy 0 --workers 1 --connections 16
date -u
