#!/bin/sh
# The main job on a built-in sample VM (grows with each issue).
set -eu
top=$1
echo "demo: not yet"
