#!/bin/bash
# Runs inside the debootstrapped chroot (as root) to make the Redis test image: Debian's
# redis-server, listening on every interface without protected mode (like the official image).
set -euo pipefail
printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d
chmod 755 /usr/sbin/policy-rc.d
groupadd --system --gid 999 redis
useradd --system --uid 999 --gid 999 --home-dir /data --shell /usr/sbin/nologin redis
apt-get update -q
apt-get install -y -q --no-install-recommends redis-server
install -d -o redis -g redis -m 755 /data
apt-get clean
rm -rf /var/lib/apt/lists/* /var/cache/debconf/*-old /var/log/apt/* /var/log/dpkg.log /tmp/* /usr/share/doc /usr/share/man
: > /etc/resolv.conf
