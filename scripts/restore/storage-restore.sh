#!/bin/sh
# Replaces the content of Supabase Storage's objects directory with a kept tarball. POSIX sh, so that
# it runs in the Storage image itself (`restore.sh storage` runs it in a one-off container with the
# Storage container's volumes, as its user, with Storage stopped).
#
#   storage-restore.sh <copy.tar.gz> <objects dir>
#
# The tarball is read to its end before anything changes: a truncated or corrupt copy changes nothing.
# Then the directory is emptied and the copy unpacked. Object metadata (storage.objects) lives in
# Postgres: restore the database to the same day, or objects and rows disagree (docs/runbooks.md).
set -eu

[ $# -eq 2 ] || { echo "usage: storage-restore.sh <copy.tar.gz> <objects dir>" >&2; exit 2; }
tarball=$1 dir=$2
[ -f "$tarball" ] || { echo "storage-restore: $tarball is not a file" >&2; exit 1; }
[ -d "$dir" ] || { echo "storage-restore: $dir is not a directory" >&2; exit 1; }
if ! listing=$(tar -tzf "$tarball"); then
  echo "storage-restore: $tarball does not read to its end; nothing was changed" >&2
  exit 1
fi
entries=$(printf '%s' "$listing" | grep -c '' || true)
find "$dir" -mindepth 1 -maxdepth 1 -exec rm -rf -- {} +
tar -xzf "$tarball" -C "$dir"
echo "storage-restore: $dir now holds $tarball ($entries entries)" >&2
