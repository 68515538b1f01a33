#!/bin/sh
# Print man/fffs.1: man/fffs.1.in with the generated sections filled in
# from the command and configuration tables of ./fffs.
set -eu
cd "$(dirname "$0")/.."
bin=${FFFS:-./fffs}
version=$("$bin" version | awk '{print $2}')
cmds=$(mktemp) cfg=$(mktemp)
trap 'rm -f "$cmds" "$cfg"' EXIT
"$bin" help --man-commands >"$cmds"
"$bin" help --man-config >"$cfg"
while IFS= read -r line; do
	case "$line" in
	@COMMANDS@) cat "$cmds" ;;
	@CONFIG@) cat "$cfg" ;;
	*) printf '%s\n' "$line" | sed "s/@VERSION@/$version/" ;;
	esac
done <man/fffs.1.in
