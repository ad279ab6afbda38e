#!/usr/bin/env bash
cd /work/main
date -u
echo "== gc: A thresholds (700, 10, 10), B (7000, 10, 10)"
bench/serving/ab.sh /tmp/cv/serving/base/src /tmp/cv/serving/gc/src 3 --seconds 10
bench/serving/ab.sh /tmp/cv/serving/base/src /tmp/cv/serving/gc/src 2 --seconds 10 --busy 2
date -u
