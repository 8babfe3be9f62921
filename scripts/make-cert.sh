#!/usr/bin/env bash
# Makes a self-signed certificate for local HTTPS/WSS: scripts/make-cert.sh [DIR] [NAME...]
# Writes DIR/cert.pem and DIR/key.pem (default DIR: ./certs) valid for localhost, 127.0.0.1,
# ::1 and any extra names given. Use: switchboard serve --tls-cert DIR/cert.pem --tls-key DIR/key.pem
set -euo pipefail
dir=${1:-certs}
shift || true
mkdir -p "$dir"
san="DNS:localhost,IP:127.0.0.1,IP:::1"
for n in "$@"; do san="$san,DNS:$n"; done
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 365 \
  -subj "/CN=localhost" -addext "subjectAltName=$san" \
  -keyout "$dir/key.pem" -out "$dir/cert.pem" 2>/dev/null
chmod 600 "$dir/key.pem"
echo "wrote $dir/cert.pem and $dir/key.pem"
