#!/usr/bin/env bash
# Publish an extension package to depot from a CI job.
#
#   DEPOT_URL=https://updates.example.com DEPOT_TOKEN=depot_… examples/publish.sh dist/plg_system_hello.zip
#
# DEPOT_TOKEN should be a publish token limited to the extensions this repository builds:
#   depot token create --scope publish --extensions plg_system_hello --name github-ci
# (or POST /api/v1/tokens with an admin token), kept in the CI system's secret store.
#
# Optional: STABILITY (dev, alpha, beta, rc, stable; default from the version), JOOMLA (4.4,5,6),
# NOTES (a file with the release notes), DRAFT=1 (upload without publishing), DEPOT (the depot
# binary; default: `depot` on PATH).
#
# Publishing the same bytes again is a no-op, so a re-run job is safe; different bytes for a
# version that is already published are refused (409) and fail the job.
set -euo pipefail

zip="${1:?usage: $0 PACKAGE.zip}"
: "${DEPOT_URL:?set DEPOT_URL to the depot server, e.g. https://updates.example.com}"
: "${DEPOT_TOKEN:?set DEPOT_TOKEN to a publish token (keep it in the CI secret store)}"
depot="${DEPOT:-depot}"

args=("$zip")
[ -n "${STABILITY:-}" ] && args+=(--stability "$STABILITY")
[ -n "${JOOMLA:-}" ] && args+=(--joomla "$JOOMLA")
[ -n "${NOTES:-}" ] && args+=(--notes "$NOTES")
[ "${DRAFT:-0}" = "1" ] && args+=(--draft)

# depot prints plain progress lines when its output is not a terminal, as in CI logs, and the
# feed and download URLs when done.
exec "$depot" publish "${args[@]}"
