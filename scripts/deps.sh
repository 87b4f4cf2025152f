#!/usr/bin/env bash
# Install the Debian packages ringcap builds, tests and benches with, if any is missing.
# Run as root (apt-get). Idempotent: does nothing when everything is there.
set -euo pipefail

pkgs=(build-essential pkg-config liburing-dev libjemalloc-dev libpcap-dev
      iproute2 iputils-ping iputils-arping ethtool tcpdump tshark netsniff-ng farpd
      gnuplot-nox procps jq
      wireshark-common python3   # mergecap/editcap/capinfos; read_window's pcap generator, bench/bench-report.py
      libjansson-dev prometheus systemd zstd age curl ndisc6
      libzstd-dev zlib1g-dev      # --compress zstd in the writer; ringcap-read of .zst and .gz
      python3-botocore)          # upload_s3's receiver checks AWS SigV4 with it

missing=()
for p in "${pkgs[@]}"; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" ||
		missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0

if [ "$(id -u)" -ne 0 ]; then
	echo "deps: missing packages (${missing[*]}) and not root: run 'sudo make deps'" >&2
	exit 2
fi
echo "deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
# tshark asks whether non-root users may capture; the default (no) is what we want.
echo "wireshark-common wireshark-common/install-setuid boolean false" | debconf-set-selections
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
