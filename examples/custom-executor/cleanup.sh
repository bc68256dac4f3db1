#!/usr/bin/env bash
# cleanup_exec: destroy the machine (safe when it was never created).
source "$(dirname "$0")/base.sh"
rm -rf "$MACHINE"
echo "Machine $MACHINE removed"
