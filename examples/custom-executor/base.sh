#!/usr/bin/env bash
# Shared by the stage scripts: where this job's "machine" (a temp directory) lives.
MACHINES_DIR="${FAULTLINE_MACHINES_DIR:-${TMPDIR:-/tmp}}"
MACHINE="$MACHINES_DIR/faultline-machine-${CUSTOM_ENV_CI_JOB_ID:?CUSTOM_ENV_CI_JOB_ID is not set}"
