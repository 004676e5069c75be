#!/bin/sh
# The demo agent's on_mode_change hook (agent.yml.in): the agent runs it after
# it rewrote a service's mode file, with VITALS_SERVICE, VITALS_MODE,
# VITALS_MODULES, VITALS_REASON, VITALS_INCIDENT_ID, VITALS_SOURCE and
# VITALS_MODE_FILE in its environment (docs/modes-agent.md). A real hook would
# reload a proxy or flip a feature flag; this one appends a line saying what
# is limited, and until when, to the log named by $1.
set -eu
log=${1:?usage: mode-hook.sh LOG}
state=$(jq -r '
  def eta: if .eta then " until \(.eta)" else "" end;
  [ (select(.mode != "normal") | "whole service \(.mode)\(eta)"),
    (.modules | to_entries[] | "\(.key) \(.value.mode)\(.value | eta)") ]
  | if length == 0 then "everything normal" else join(", ") end' "$VITALS_MODE_FILE") ||
  state="mode $VITALS_MODE, modules: ${VITALS_MODULES:-none}"
echo "$(date +%H:%M:%S.%3N) $VITALS_SERVICE: $state" >>"$log"
