#!/usr/bin/env bash
# Puts the oracle tests' Debian-shipped dumps in test/fixtures/dumps/<name>/ (ignored by git).
#
# These are real SQL files of open-source applications, shipped by Debian packages so that the
# applications' installers can load them: Cacti's database (cacti) and Zabbix's schema, images and
# data for MySQL and PostgreSQL (zabbix-server-mysql, zabbix-server-pgsql). Debian's archive is
# reachable wherever the project's machines and CI run, so `apt-get download` brings the package
# (apt verifies it against the archive's signed index) and only the listed files are taken out of
# it — nothing is installed. The package's version and each file's sha256 are written to SOURCE in
# the fixture's directory; the tests compare against the database's own client on the same bytes,
# so a newer Debian revision of a file is still a valid oracle input.
#
# Usage: bash scripts/dumps-from-debian.sh      (part of `npm run services:up`; harmless to re-run)
set -euo pipefail
cd "$(dirname "$0")/.."

log() { printf '[dumps] %s\n' "$*" >&2; }

dest=test/fixtures/dumps
cache=$dest/.debs
mkdir -p "$cache"

# fixture  package  file-in-package[=name-in-fixture] ...   (a .gz is unpacked)
fixtures=(
  "cacti|cacti|usr/share/cacti/conf_templates/cacti.sql"
  "zabbix-mysql|zabbix-server-mysql|usr/share/zabbix-server-mysql/schema.sql.gz usr/share/zabbix-server-mysql/images.sql.gz usr/share/zabbix-server-mysql/data.sql.gz"
  "zabbix-pgsql|zabbix-server-pgsql|usr/share/zabbix-server-pgsql/schema.sql.gz usr/share/zabbix-server-pgsql/images.sql.gz usr/share/zabbix-server-pgsql/data.sql.gz"
)

download() { # package -> path of the .deb in the cache
  local pkg=$1 deb
  deb=$(find "$cache" -maxdepth 1 -name "${pkg}_*.deb" | head -n1)
  if [ -z "$deb" ]; then
    # apt-get download needs the package lists; a fresh machine has none yet.
    if ! (cd "$cache" && apt-get download -q "$pkg" >/dev/null 2>&1); then
      log "apt-get update (for $pkg)"
      apt-get update -qq >/dev/null
      (cd "$cache" && apt-get download -q "$pkg" >/dev/null 2>&1) || {
        log "ERROR: could not download Debian package $pkg"
        return 1
      }
    fi
    deb=$(find "$cache" -maxdepth 1 -name "${pkg}_*.deb" | head -n1)
  fi
  printf '%s\n' "$deb"
}

for entry in "${fixtures[@]}"; do
  IFS='|' read -r name pkg files <<<"$entry"
  dir=$dest/$name
  if [ -f "$dir/SOURCE" ]; then
    continue
  fi
  deb=$(download "$pkg")
  version=$(dpkg-deb -f "$deb" Version)
  tmp=$(mktemp -d)
  # shellcheck disable=SC2086 # the list is ours, space-separated
  dpkg-deb --fsys-tarfile "$deb" | tar -x -C "$tmp" $(printf './%s ' $files)
  mkdir -p "$dir"
  {
    printf 'package: %s\nversion: %s\n' "$pkg" "$version"
    printf 'licence: see /usr/share/doc/%s/copyright in the package\nfiles:\n' "$pkg"
  } >"$dir/SOURCE.tmp"
  for f in $files; do
    out=$(basename "$f" .gz)
    if [[ $f == *.gz ]]; then gzip -dc "$tmp/$f" >"$dir/$out"; else cp "$tmp/$f" "$dir/$out"; fi
    printf '  %s  %s (from %s)\n' "$(sha256sum "$dir/$out" | cut -d' ' -f1)" "$out" "$f" >>"$dir/SOURCE.tmp"
  done
  rm -rf "$tmp"
  mv "$dir/SOURCE.tmp" "$dir/SOURCE"
  log "$name: $pkg $version"
done
