#!/usr/bin/env bash
# run_exec <script path> <stage>: run one stage's script "on the machine".
source "$(dirname "$0")/base.sh"
script="$1" stage="$2"
if [ ! -d "$MACHINE/builds" ]; then
  echo "ERROR: machine $MACHINE is gone (stage $stage)" >&2
  exit "$SYSTEM_FAILURE_EXIT_CODE"
fi
cp "$script" "$MACHINE/$stage.sh"
# The job sees its variables without the CUSTOM_ENV_ prefix, and only those.
vars=()
while IFS= read -r -d '' entry; do
  case "$entry" in CUSTOM_ENV_*) vars+=("${entry#CUSTOM_ENV_}") ;; esac
done < <(env -0)
cd "$MACHINE/builds" && env -i PATH="$PATH" HOME="$MACHINE" "${vars[@]}" bash "$MACHINE/$stage.sh"
code=$?
if [ "$code" -ne 0 ]; then
  # Report the real exit code (gitlab-runner's BUILD_EXIT_CODE_FILE), then say "build failure".
  [ -n "${BUILD_EXIT_CODE_FILE:-}" ] && echo "$code" > "$BUILD_EXIT_CODE_FILE"
  exit "$BUILD_FAILURE_EXIT_CODE"
fi
