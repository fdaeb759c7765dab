#!/usr/bin/env sh
# Back up Weft: the database (pg_dump custom format) and the uploaded files, into one folder.
#   deploy/backup.sh /var/backups/weft          (reads DATABASE_URL, MEDIA_ROOT, PRIVATE_MEDIA_ROOT)
# Restore: see docs/deployment.md, "Backup and restore".
set -eu
dest="${1:?usage: backup.sh <folder>}/$(date +%Y%m%d-%H%M%S)"
mkdir -p "$dest"
pg_dump --format=custom --no-owner --file="$dest/weft.dump" "${DATABASE_URL:?DATABASE_URL not set}"
tar -czf "$dest/media.tar.gz" "${MEDIA_ROOT:-media}" "${PRIVATE_MEDIA_ROOT:-private_media}"
( cd "$dest" && sha256sum weft.dump media.tar.gz > SHA256SUMS )
echo "backup written to $dest"
