#!/usr/bin/env bash
# Builds Debian packages of the controller and the player, and an offline bundle for closed
# networks (LGWAN): the packages, the list of Debian packages they need (for a local mirror)
# and how to install them.
#   scripts/package.sh [--bin-dir DIR] [--out DIR]
# Without --bin-dir it builds release binaries first (about 10 minutes on a clean tree).
set -euo pipefail
cd "$(dirname "$0")/.."

bin_dir=""
out="target/packages"
while [ $# -gt 0 ]; do
  case "$1" in
    --bin-dir) bin_dir="$2"; shift 2 ;;
    --out) out="$2"; shift 2 ;;
    *) echo "unknown argument $1 (use --bin-dir DIR, --out DIR)" >&2; exit 2 ;;
  esac
done
say() { printf '\033[1m==> %s\033[0m\n' "$*" >&2; }

if [ -z "$bin_dir" ]; then
  say "building release binaries"
  cargo build --locked --release -p controller -p player --bins
  bin_dir="target/release"
fi
for b in signage-controller signage-player; do
  [ -x "$bin_dir/$b" ] || { echo "no $bin_dir/$b; build it first or omit --bin-dir" >&2; exit 1; }
done
version=$(sed -n 's/^version = "\(.*\)"/\1/p' Cargo.toml | head -1)
arch=$(dpkg --print-architecture)
mkdir -p "$out"
out=$(cd "$out" && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# The Debian packages providing the shared libraries a binary links, for Depends and the
# offline mirror list.
needs() {
  ldd "$1" | awk '/=> \// {print $3}' | while read -r lib; do
    dpkg -S "$(readlink -f "$lib")" 2>/dev/null || dpkg -S "$lib" 2>/dev/null || true
  done | cut -d: -f1 | sort -u
}

# make_package NAME DESCRIPTION EXTRA_DEPENDS
make_package() {
  local name=$1 description=$2 extra=$3
  local root="$work/$name"
  mkdir -p "$root/DEBIAN" "$root/usr/bin" "$root/lib/systemd/system" "$root/etc/signage" \
    "$root/usr/share/doc/$name"
  install -m 0755 "$bin_dir/$name" "$root/usr/bin/$name"
  if [ "${PACKAGE_STRIP:-1}" = 1 ]; then strip --strip-debug "$root/usr/bin/$name" 2>/dev/null || true; fi
  local deps
  deps=$( (needs "$bin_dir/$name"; printf '%s\n' adduser $extra) | sort -u | paste -sd, | sed 's/,/, /g')
  needs "$bin_dir/$name" > "$work/$name.needs"
  install -m 0644 README.md "$root/usr/share/doc/$name/README.md"
  cat > "$root/DEBIAN/control" <<EOF
Package: $name
Version: $version
Architecture: $arch
Maintainer: Osaka signage maintainers <signage@example.invalid>
Section: misc
Priority: optional
Depends: $deps
Description: $description
 Digital signage with people-flow analytics for municipal offices
 (controller, players, emergency alerts). See /usr/share/doc/$name.
EOF
}

# --- controller ---
make_package signage-controller "Signage controller: console, API, MQTT broker, alerts" "fonts-noto-cjk"
root="$work/signage-controller"
sed -e 's#^ExecStart=.*#ExecStart=/usr/bin/signage-controller serve --config /etc/signage/controller.toml#' \
    -e 's#^StateDirectory=.*#StateDirectory=signage\nStateDirectoryMode=0700\nLimitNOFILE=65536#' \
    deploy/systemd/signage-controller.service > "$root/lib/systemd/system/signage-controller.service"
# The shipped configuration, with the data directory the unit may write.
{ echo 'data_dir = "/var/lib/signage/controller"'; grep -v '^data_dir' deploy/controller.toml; } \
  > "$root/etc/signage/controller.toml"
chmod 0640 "$root/etc/signage/controller.toml"
echo /etc/signage/controller.toml > "$root/DEBIAN/conffiles"

# --- player ---
make_package signage-player "Signage player: screens, people counting, alerts" \
  "gstreamer1.0-plugins-base gstreamer1.0-plugins-good gstreamer1.0-plugins-bad gstreamer1.0-libav gstreamer1.0-x fonts-noto-cjk"
root="$work/signage-player"
sed -e 's#^ExecStart=.*#ExecStart=/usr/bin/signage-player run --config /etc/signage/player.toml --cache-dir /var/cache/signage-player --display window#' \
    -e 's#^CacheDirectory=.*#CacheDirectory=signage-player\nCacheDirectoryMode=0700\nLimitNOFILE=65536#' \
    deploy/systemd/signage-player.service > "$root/lib/systemd/system/signage-player.service"
install -m 0644 deploy/player.toml "$root/usr/share/doc/signage-player/player.toml.example"

# Maintainer scripts, for both: a system user, private directories, the unit enabled where
# systemd runs. They honour DPKG_ROOT (an install into another root). Removal and purge keep
# the data, keys and caches: an operator deletes those on purpose, never a package.
for name in signage-controller signage-player; do
  root="$work/$name"
  if [ "$name" = signage-controller ]; then dirs="/var/lib/signage /var/lib/signage/controller"; else dirs="/var/cache/signage-player"; fi
  cat > "$root/DEBIAN/postinst" <<EOF
#!/bin/sh
set -e
R="\${DPKG_ROOT:-}"
if [ "\$1" = configure ]; then
  if ! grep -q '^signage:' "\$R/etc/passwd"; then
    if [ -n "\$R" ]; then
      groupadd --prefix "\$R" --system signage 2>/dev/null || true
      useradd --prefix "\$R" --system --gid signage --home-dir /var/lib/signage --shell /usr/sbin/nologin signage
    else
      adduser --system --group --home /var/lib/signage --no-create-home --shell /usr/sbin/nologin signage
    fi
  fi
  uid=\$(awk -F: '\$1=="signage"{print \$3}' "\$R/etc/passwd")
  gid=\$(awk -F: '\$1=="signage"{print \$4}' "\$R/etc/passwd")
  for d in $dirs; do
    mkdir -p "\$R\$d"
    chown "\$uid:\$gid" "\$R\$d"
    chmod 0700 "\$R\$d"
  done
  if [ -f "\$R/etc/signage/controller.toml" ]; then chgrp "\$gid" "\$R/etc/signage/controller.toml"; fi
  if [ -z "\$R" ] && [ -d /run/systemd/system ]; then
    systemctl daemon-reload
    systemctl enable $name.service >/dev/null 2>&1 || true
    systemctl try-restart $name.service || true
  fi
fi
exit 0
EOF
  cat > "$root/DEBIAN/prerm" <<EOF
#!/bin/sh
set -e
if [ -z "\${DPKG_ROOT:-}" ] && [ "\$1" = remove ] && [ -d /run/systemd/system ]; then
  systemctl stop $name.service || true
fi
exit 0
EOF
  cat > "$root/DEBIAN/postrm" <<EOF
#!/bin/sh
set -e
if [ "\$1" = purge ]; then
  echo "$name: data, keys and caches are kept (/var/lib/signage, /var/cache/signage-player); delete them yourself if you mean to" >&2
fi
if [ -z "\${DPKG_ROOT:-}" ] && [ -d /run/systemd/system ]; then systemctl daemon-reload || true; fi
exit 0
EOF
  chmod 0755 "$root/DEBIAN/postinst" "$root/DEBIAN/prerm" "$root/DEBIAN/postrm"
  deb="$out/${name}_${version}_${arch}.deb"
  dpkg-deb --root-owner-group -Zgzip --build "$root" "$deb" >/dev/null
  say "built $deb"
done

# The offline bundle: packages, the Debian packages they need, and how to install.
bundle="$work/signage-offline-$version"
mkdir -p "$bundle"
cp "$out"/signage-controller_"${version}"_"${arch}".deb "$out"/signage-player_"${version}"_"${arch}".deb "$bundle/"
cat "$work"/signage-controller.needs "$work"/signage-player.needs \
  | { cat; printf '%s\n' adduser gstreamer1.0-plugins-base gstreamer1.0-plugins-good \
      gstreamer1.0-plugins-bad gstreamer1.0-libav gstreamer1.0-x fonts-noto-cjk; } \
  | sort -u > "$bundle/debian-packages.txt"
cat > "$bundle/INSTALL.txt" <<EOF
Signage $version offline bundle (Debian 12, $arch)

1. Put the Debian packages listed in debian-packages.txt (and what they depend on) into
   the local mirror the machines use, e.g. with apt-get download / apt-mirror on a
   connected machine.
2. On the controller host:  apt install ./signage-controller_${version}_${arch}.deb
   On each player:          apt install ./signage-player_${version}_${arch}.deb
3. Edit /etc/signage/controller.toml, then: systemctl restart signage-controller
   Make the first administrator: signage-controller user add NAME --role admin --config /etc/signage/controller.toml
4. Register players (signage-controller player add, or signage-player enrol), copy the file
   to /etc/signage/player.toml on the player, then: systemctl restart signage-player

Upgrades: apt install the newer package; data, keys and configuration stay.
Removal (even purge) keeps /var/lib/signage and /var/cache/signage-player.
Guide: docs/ja/ (Japanese) and docs/en/ in the source, or /usr/share/doc/signage-*/.
EOF
tar -C "$work" -czf "$out/signage-offline-$version-$arch.tar.gz" "signage-offline-$version"
say "built $out/signage-offline-$version-$arch.tar.gz"
