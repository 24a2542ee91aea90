#!/usr/bin/env bash
# Makes a busybox root filesystem in DEST from the host's busybox-static (/bin/busybox):
# the binary, a symlink per applet, and the usual directories and account files.
set -euo pipefail
dest=${1:?usage: make-busybox-rootfs.sh DEST_DIR}
bb=${BUSYBOX:-/bin/busybox}
[ -x "$bb" ] || { echo "no $bb: install busybox-static" >&2; exit 1; }
mkdir -p "$dest"/{bin,etc,root,tmp,var/tmp,home,dev,proc,sys,usr/bin,usr/sbin,sbin}
chmod 1777 "$dest/tmp" "$dest/var/tmp"
chmod 700 "$dest/root"
install -m 0755 "$bb" "$dest/bin/busybox"
for applet in $("$bb" --list-full); do
  [ "$applet" = bin/busybox ] && continue
  mkdir -p "$dest/$(dirname "$applet")"
  ln -sf /bin/busybox "$dest/$applet"
done
cat > "$dest/etc/passwd" <<'P'
root:x:0:0:root:/root:/bin/sh
daemon:x:1:1:daemon:/usr/sbin:/bin/false
nobody:x:65534:65534:nobody:/home:/bin/false
P
cat > "$dest/etc/group" <<'G'
root:x:0:
daemon:x:1:
tty:x:5:
nogroup:x:65534:
G
echo "hosts: files dns" > "$dest/etc/nsswitch.conf"
