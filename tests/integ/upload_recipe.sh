#!/usr/bin/env bash
# dist/ringcap-upload, the -z recipe for shipping closed files off the box:
# zstd, then age for a recipient's public key, then curl to an HTTP receiver
# in the test's own namespace (198.18.0.1, python's http.server accepting PUT
# and POST). What the receiver got is decrypted and decompressed and must be
# the original file byte for byte, and read back by tcpdump as the same
# packets; the local copy goes only after a 2xx. A 500, a refused connection
# and a bad recipient each exit non-zero and keep the file, leaving nothing else.
set -u
cd "$(dirname "$0")/../.." || exit 1
source tests/lib/testbed.sh
need_root
for c in zstd age age-keygen curl python3 tcpdump; do need_cmd "$c"; done

dir=$(mktemp -d /tmp/ringcap-upload.XXXXXX)
RECV_PID=
TB_EXTRA_CLEANUP='[ -n "$RECV_PID" ] && kill "$RECV_PID" 2>/dev/null; rm -rf "$dir"'
testbed_up || fail "testbed"
mkdir -p "$dir/recv" "$dir/cap"

cat >"$dir/recv.py" <<'PY'
import http.server, os, sys, urllib.parse
out = sys.argv[1]
class Receiver(http.server.BaseHTTPRequestHandler):
    def store(self):
        name = urllib.parse.unquote(self.path.rsplit('/', 1)[-1])
        body = self.rfile.read(int(self.headers.get('Content-Length', 0)))
        if 'fail500' in name:
            self.send_response(500); self.end_headers(); return
        with open(os.path.join(out, name), 'wb') as f:
            f.write(body)
        self.send_response(201); self.end_headers()
    do_PUT = store
    do_POST = store
    def do_GET(self):
        self.send_response(204); self.end_headers()
    def log_message(self, *a):
        pass
http.server.HTTPServer((sys.argv[2], int(sys.argv[3])), Receiver).serve_forever()
PY
ip netns exec "$NS_A" python3 "$dir/recv.py" "$dir/recv" "$IP_A" 8080 &
RECV_PID=$!
for _ in $(seq 100); do
	in_b curl -s -o /dev/null "http://$IP_A:8080/" && break
	sleep 0.05
done
in_b curl -s -o /dev/null "http://$IP_A:8080/" || fail "the receiver did not start"

# a pcap of 40 frames of varied sizes, as ringcap writes them (micro, Ethernet)
make_pcap() {
	python3 - "$1" <<'PY'
import struct, sys
with open(sys.argv[1], 'wb') as f:
    f.write(struct.pack('<IHHiIII', 0xa1b2c3d4, 2, 4, 0, 0, 65535, 1))
    for i in range(40):
        n = 60 + i * 37
        frame = bytes([0x02, 0, 0, 0, 0, 2, 0x02, 0, 0, 0, 0, 1, 0x08, 0x00]) + bytes((i + j) & 0xff for j in range(n - 14))
        f.write(struct.pack('<IIII', 1764583200 + i, i * 1000, n, n) + frame)
PY
}

age-keygen -o "$dir/key.txt" 2>/dev/null || fail "age-keygen"
pub=$(age-keygen -y "$dir/key.txt") || fail "age-keygen -y"
upload() { # FILE [VAR=VALUE ...]: run the recipe inside namespace B
	local f=$1; shift
	in_b env RINGCAP_UPLOAD_URL="http://$IP_A:8080/up" RINGCAP_UPLOAD_RECIPIENT="$pub" "$@" \
		bash dist/ringcap-upload "$f" 2>"$dir/upload.log"
}
leftovers() { find "$dir/cap" -name '.*upload*' | wc -l; }

# --- PUT, a name that needs encoding -----------------------------------------------
for name in "cap-20261201-101500.pcap" "odd name %41+&.pcap"; do
	f="$dir/cap/$name"
	make_pcap "$f"
	cp "$f" "$dir/orig.pcap"
	upload "$f" || fail "upload of '$name' failed: $(cat "$dir/upload.log")"
	[ ! -e "$f" ] || fail "the local file stayed after a 2xx"
	got="$dir/recv/$name.zst.age"
	[ -f "$got" ] || fail "the receiver has no '$name.zst.age': $(ls "$dir/recv")"
	age -d -i "$dir/key.txt" "$got" | zstd -q -d -c >"$dir/got.pcap" || fail "cannot decrypt/decompress"
	cmp "$dir/orig.pcap" "$dir/got.pcap" || fail "the uploaded file differs from the original"
	[ "$(pcap_count "$dir/got.pcap")" = 40 ] || fail "tcpdump reads $(pcap_count "$dir/got.pcap") packets"
	diff <(pcap_hexlines "$dir/orig.pcap") <(pcap_hexlines "$dir/got.pcap") >/dev/null ||
		fail "tcpdump -r shows other packets"
	# what went over the wire is encrypted: neither pcap nor zstd magic
	head -c 21 "$got" | grep -q 'age-encryption.org/v1' || fail "not an age file"
	rm -f "$got"
	echo "ok: PUT '$name': 40 packets back byte for byte, local copy removed"
done
[ "$(leftovers)" = 0 ] || fail "temporary files left"

# --- POST ----------------------------------------------------------------------------
f="$dir/cap/post.pcap"
make_pcap "$f"
cp "$f" "$dir/orig.pcap"
upload "$f" RINGCAP_UPLOAD_METHOD=POST || fail "POST failed: $(cat "$dir/upload.log")"
age -d -i "$dir/key.txt" "$dir/recv/post.pcap.zst.age" | zstd -q -d -c | cmp - "$dir/orig.pcap" ||
	fail "POST: the uploaded file differs"
echo "ok: POST"

# --- failures keep the file and leave nothing else --------------------------------------
f="$dir/cap/fail500.pcap"
make_pcap "$f"
upload "$f" && fail "a 500 answer counted as success"
grep -q 'HTTP 500' "$dir/upload.log" || fail "no line naming the 500: $(cat "$dir/upload.log")"
[ -f "$f" ] || fail "the file was removed after a 500"
upload "$f" RINGCAP_UPLOAD_URL="http://$IP_A:8081/up" && fail "a refused connection counted as success"
[ -f "$f" ] || fail "the file was removed after a refused connection"
upload "$f" RINGCAP_UPLOAD_RECIPIENT=age1notakey && fail "a bad recipient counted as success"
[ -f "$f" ] || fail "the file was removed after a bad recipient"
[ "$(leftovers)" = 0 ] || fail "temporary files left after failures: $(ls -a "$dir/cap")"
[ ! -e "$dir/recv/fail500.pcap.zst.age" ] || fail "the receiver stored a refused upload"
echo "ok: 500, refused connection, bad recipient: exit non-zero, file kept, nothing left"

upload "$f" RINGCAP_UPLOAD_URL=
[ $? -eq 2 ] || fail "no URL: want exit 2"
upload "$dir/cap/missing.pcap"
[ $? -eq 2 ] || fail "missing file: want exit 2"
echo "ok: bad settings exit 2"
