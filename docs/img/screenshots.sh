#!/usr/bin/env bash
# Regenerate the Prefect UI screenshots of docs/deploy.md (1400 px wide, headless Chromium:
# `apt-get install -y chromium`): a local server on 127.0.0.1, a backfill of seeds/, then the
# run page, its alert table and its summary. Run from the checkout root: bash docs/img/screenshots.sh
set -euo pipefail
root=$(pwd)
work=$(mktemp -d)
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
export PREFECT_HOME=$work/prefect TOCSIN_HOME=$work/home DO_NOT_TRACK=1 PREFECT_SERVER_ANALYTICS_ENABLED=false
export PREFECT_API_URL=http://127.0.0.1:$port/api PREFECT_UI_API_URL=http://127.0.0.1:$port/api
"$root/.venv/bin/prefect" server start --host 127.0.0.1 --port "$port" > "$work/server.log" 2>&1 &
server=$!
trap 'kill $server; rm -rf "$work"' EXIT
until curl -fs "$PREFECT_API_URL/health" > /dev/null; do sleep 1; done
"$root/.venv/bin/tocsin" backfill seeds/ > /dev/null 2>&1
first_id() { curl -fs -X POST "$PREFECT_API_URL/$1/filter" -H 'content-type: application/json' -d "$2" | python3 -c 'import json,sys; print(json.load(sys.stdin)[0]["id"])'; }
run=$(first_id flow_runs '{}')
table=$(first_id artifacts '{"artifacts": {"key": {"any_": ["backfill-alerts"]}}}')
summary=$(first_id artifacts '{"artifacts": {"key": {"any_": ["backfill-summary"]}}}')
shot() { chromium --headless --no-sandbox --disable-gpu --hide-scrollbars --window-size=1400,1000 \
  --virtual-time-budget=20000 --screenshot="$root/docs/img/$1" "http://127.0.0.1:$port/$2" > /dev/null 2>&1; }
shot run-page.png "runs/flow-run/$run"
shot alert-table.png "artifacts/artifact/$table"
shot run-summary.png "artifacts/artifact/$summary"
