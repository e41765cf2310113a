#!/usr/bin/env bash
# Real footage for the video tests: Debian's opencv-doc package ships OpenCV's sample data
# (vtest.avi: pedestrians, 768×576, 10 fps; basketball1/2.png: a full-body person).
# Downloads the package once (~95 MB) and keeps those files in build/footage/.
set -euo pipefail
REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
OUT="$REPO/build/footage"
if [ -f "$OUT/vtest.avi" ]; then exit 0; fi
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
if [ -f /usr/share/doc/opencv-doc/examples/data/vtest.avi ]; then
    data=/usr/share/doc/opencv-doc/examples/data
else
    echo "[setup] downloading Debian's opencv-doc for its sample footage (~95 MB)" >&2
    (cd "$tmp" && apt-get download opencv-doc >/dev/null && dpkg -x opencv-doc_*.deb root)
    data="$tmp/root/usr/share/doc/opencv-doc/examples/data"
fi
mkdir -p "$OUT"
for f in vtest.avi basketball1.png basketball2.png; do
    if [ -f "$data/$f.gz" ]; then gunzip -c "$data/$f.gz" > "$OUT/$f"; else cp "$data/$f" "$OUT/$f"; fi
done
