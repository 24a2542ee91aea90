#!/usr/bin/env bash
# Makes a busybox root filesystem in DEST_DIR from the host's busybox-static (/bin/busybox, or
# $BUSYBOX): the binary, a relative symlink per applet (`busybox --list-full`), the usual
# directories and minimal account files. The e2e test factory builds the same tree in Rust
# (tests/e2e/support/images.rs, Rootfs::busybox; a self-test compares the two): keep them equal.
#
# Usage: make-busybox-rootfs.sh DEST_DIR   (DEST_DIR may exist; it should be empty)
set -euo pipefail

dest=${1:?usage: make-busybox-rootfs.sh DEST_DIR}
bb=${BUSYBOX:-/bin/busybox}
[ -x "$bb" ] || { echo "make-busybox-rootfs: no $bb: install busybox-static" >&2; exit 1; }
umask 022

mkdir -p "$dest"
for d in bin dev etc home proc root sbin sys tmp usr usr/bin usr/sbin var var/tmp; do
  mkdir -p "$dest/$d"
  chmod 0755 "$dest/$d"
done
chmod 0700 "$dest/root"
chmod 1777 "$dest/tmp" "$dest/var/tmp"

install -m 0755 "$bb" "$dest/bin/busybox"

# Relative targets (bin/sh -> busybox, usr/bin/env -> ../../bin/busybox) stay inside the tree
# even when something follows them from the host side.
"$bb" --list-full | while IFS= read -r applet; do
  applet=${applet#/}
  [ -n "$applet" ] && [ "$applet" != bin/busybox ] || continue
  dir=$(dirname "$applet")
  if [ "$dir" = bin ]; then
    target=busybox
  elif [ "$dir" = . ]; then
    target=bin/busybox
  else
    up=$(printf '%s\n' "$dir" | sed 's,[^/][^/]*,..,g')
    target=$up/bin/busybox
  fi
  mkdir -p "$dest/$dir"
  ln -sfn "$target" "$dest/$applet"
done

cat > "$dest/etc/passwd" <<'EOF'
root:x:0:0:root:/root:/bin/sh
daemon:x:1:1:daemon:/usr/sbin:/bin/false
nobody:x:65534:65534:nobody:/home:/bin/false
EOF
cat > "$dest/etc/group" <<'EOF'
root:x:0:
daemon:x:1:
tty:x:5:
nogroup:x:65534:
EOF
echo "hosts: files dns" > "$dest/etc/nsswitch.conf"
chmod 0644 "$dest/etc/passwd" "$dest/etc/group" "$dest/etc/nsswitch.conf"
