#!/bin/sh
# SPDX-License-Identifier: BSD-3-Clause
#
# check-install.sh BUILD_DIR UNIT_DIR BINDIR SBINDIR
#
# `meson install --tags systemd` into a scratch DESTDIR installs the four
# units into UNIT_DIR with the programs' installed paths in ExecStart, and
# `systemd-analyze verify` accepts them (with the programs stood in for by
# /bin/true, since they need not be installed here).
set -eu

build=$1 unitdir=$2 bindir=$3 sbindir=$4
dest=$(mktemp -d /tmp/wc-units.XXXXXX)
trap 'rm -rf "$dest"' EXIT

fail() {
	echo "check-install: $*" >&2
	exit 1
}

meson install -C "$build" --no-rebuild --tags systemd --destdir "$dest" --quiet ||
	fail "meson install --tags systemd failed"

for unit in wirecached.service wirecache-mgmt.service wirecached@.service \
	wirecache-mgmt@.service; do
	f=$dest$unitdir/$unit
	[ -f "$f" ] || fail "$unit not installed in $unitdir"
	case $unit in
	wirecached*) want=$bindir/wirecached ;;
	*) want=$sbindir/wirecache-mgmt ;;
	esac
	exec_start=$(sed -n 's/^ExecStart=//p' "$f")
	case $exec_start in
	"$want "*) ;;
	*) fail "$unit: ExecStart=$exec_start does not run $want" ;;
	esac
	if grep -q '@[A-Z]*@' "$f"; then
		fail "$unit: unsubstituted @VARIABLE@"
	fi
done
grep -q '^Wants=wirecached.service' "$dest$unitdir/wirecache-mgmt.service" ||
	fail "wirecache-mgmt.service does not want wirecached.service"
if grep -q '^BindsTo=\|^Requires=\|^PartOf=' "$dest$unitdir/wirecache-mgmt.service"; then
	fail "wirecache-mgmt.service would be stopped with the dataplane"
fi

if command -v systemd-analyze >/dev/null 2>&1; then
	mkdir "$dest/verify"
	for f in "$dest$unitdir"/*.service; do
		sed "s|^ExecStart=[^ ]*|ExecStart=/bin/true|" "$f" >"$dest/verify/$(basename "$f")"
	done
	(cd "$dest/verify" && systemd-analyze verify ./wirecached.service \
		./wirecache-mgmt.service ./wirecached@a.service ./wirecache-mgmt@a.service) ||
		fail "systemd-analyze verify rejected the units"
else
	echo "check-install: systemd-analyze not installed, units not verified"
fi
echo "check-install: units in $unitdir"
