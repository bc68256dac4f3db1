#!/usr/bin/env bash
# prepare_exec: "create the machine" = a temp dir with a copy of the sources.
# MACHINE_CREATION_FAIL=1 (runner env) or the job variable MACHINE_CREATION_FAIL=1
# simulates a provider that cannot create machines.
set -u
source "$(dirname "$0")/base.sh"
echo "Creating machine $MACHINE ..."
if [ -n "${MACHINE_CREATION_FAIL:-${CUSTOM_ENV_MACHINE_CREATION_FAIL:-}}" ]; then
  echo "ERROR: Machine creation failed" >&2
  exit "$SYSTEM_FAILURE_EXIT_CODE"
fi
mkdir -p "$MACHINE/builds" || { echo "ERROR: cannot create $MACHINE" >&2; exit "$SYSTEM_FAILURE_EXIT_CODE"; }
if [ -n "${FAULTLINE_BUILD_DIR:-}" ] && [ -d "$FAULTLINE_BUILD_DIR" ]; then
  cp -a "$FAULTLINE_BUILD_DIR/." "$MACHINE/builds/"
fi
echo "Machine ready"
