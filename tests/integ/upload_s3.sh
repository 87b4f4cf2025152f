#!/usr/bin/env bash
# dist/ringcap-upload to an S3-compatible target: PUTs signed with AWS
# Signature Version 4. The receiver, in the test's own namespace (198.18.0.1),
# is python's http.server judging each request with botocore's S3SigV4Auth:
# it recomputes the signature from the method, path, signed headers and body
# it received and the test's credentials, wants host, x-amz-date and
# x-amz-content-sha256 signed and that header to be the SHA-256 of the body,
# then stores the object (200) or refuses (403/400 and S3's error <Code>).
# Checked: objects come back through age -d and zstd -d byte for byte, under
# the prefix, for path-style and virtual-hosted URLs and a name with spaces,
# '#', '+' and UTF-8; a wrong secret gets 403 and keeps the file; a
# credentials file open to the group or others, or a link, is refused with
# exit 2 and one line before anything is sent; the secret is on no command
# line (curl's argv, every process's cmdline while curl starts, and every
# execve when strace is there). Control requests prove the receiver refuses
# an unsigned x-amz-content-sha256, a hash of other bytes and a stale date.
set -u
cd "$(dirname "$0")/../.." || exit 1
source tests/lib/testbed.sh
need_root
for c in zstd age age-keygen curl sha256sum; do need_cmd "$c"; done
# python3-botocore is Debian's: its python first (another python3 may lead PATH)
PY=
for p in /usr/bin/python3 python3; do
	command -v "$p" >/dev/null && "$p" -c 'import botocore.auth' 2>/dev/null && { PY=$p; break; }
done
[ -n "$PY" ] || skip "python3 cannot import botocore (python3-botocore; make deps installs it)"

dir=$(mktemp -d /tmp/ringcap-upload-s3.XXXXXX)
RECV_PID=
TB_EXTRA_CLEANUP='[ -n "$RECV_PID" ] && kill "$RECV_PID" 2>/dev/null; rm -rf "$dir"'
testbed_up || fail "testbed"
mkdir -p "$dir/recv" "$dir/cap" "$dir/bin"

key_id=AKIARINGCAPTEST00001
# random, so that finding it anywhere means it leaked from this run
secret="rcSK/$(od -An -N15 -tx1 /dev/urandom | tr -d ' \n')+test"
region=eu-test-1
printf '%s\n' "$secret" >"$dir/needle"
make_credentials() { # FILE SECRET: the AWS CLI's format, written by builtins only
	printf '# test credentials\n[default]\naws_access_key_id = %s\naws_secret_access_key=%s\n' \
		"$key_id" "$2" >"$1"
	chmod 0600 "$1"
}
make_credentials "$dir/creds" "$secret"
make_credentials "$dir/recv.creds" "$secret"

cat >"$dir/recv.py" <<'PY'
import datetime, hashlib, hmac, http.server, ipaddress, os, re, sys, urllib.parse
from botocore.auth import S3SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

out, host, port, creds, region, log = sys.argv[1:7]
conf = dict(re.findall(r'^\s*(\w+)\s*=\s*(\S+)\s*$', open(creds).read(), re.M))
KEY_ID, SECRET = conf['aws_access_key_id'], conf['aws_secret_access_key']
AUTH = re.compile(r'AWS4-HMAC-SHA256 Credential=([^/]+)/(\d{8})/([^/]+)/s3/aws4_request, ?'
                  r'SignedHeaders=([a-z0-9;-]+), ?Signature=([0-9a-f]{64})')

def note(line):
    with open(log, 'a') as f:
        f.write(line + '\n')

class S3(http.server.BaseHTTPRequestHandler):
    protocol_version = 'HTTP/1.1'   # answers Expect: 100-continue

    def answer(self, status, code=''):
        body = ('<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>%s</Code>'
                '<Message>test receiver</Message></Error>' % code).encode() if code else b''
        self.send_response(status)
        self.send_header('Content-Length', str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def verdict(self, body):
        """None when the request is signed right, else (status, S3 code, why)."""
        m = AUTH.fullmatch(self.headers.get('Authorization', ''))
        if not m:
            return 403, 'AccessDenied', 'no AWS4-HMAC-SHA256 Authorization'
        key_id, day, reg, signed, signature = m.groups()
        signed = signed.split(';')
        if key_id != KEY_ID:
            return 403, 'InvalidAccessKeyId', 'key id ' + key_id
        if reg != region:
            return 400, 'AuthorizationHeaderMalformed', 'region ' + reg
        for h in ('host', 'x-amz-date', 'x-amz-content-sha256'):
            if h not in signed:
                return 403, 'AccessDenied', h + ' is not signed'
        for h in signed:
            if self.headers.get(h) is None:
                return 403, 'AccessDenied', 'signed header %s is missing' % h
        stamp = self.headers['x-amz-date']
        try:
            when = datetime.datetime.strptime(stamp, '%Y%m%dT%H%M%SZ')
        except ValueError:
            return 403, 'AccessDenied', 'x-amz-date ' + stamp
        if abs((datetime.datetime.utcnow() - when).total_seconds()) > 900:
            return 403, 'RequestTimeTooSkewed', 'x-amz-date ' + stamp
        if self.headers['x-amz-content-sha256'] != hashlib.sha256(body).hexdigest():
            return 400, 'XAmzContentSHA256Mismatch', 'x-amz-content-sha256 is not the body hash'
        request = AWSRequest(method=self.command, url='http://%s%s' % (self.headers['host'], self.path),
                             headers={h: self.headers[h] for h in signed}, data=body)
        request.context['timestamp'] = stamp
        auth = S3SigV4Auth(Credentials(KEY_ID, SECRET), 's3', region)
        want = auth.signature(auth.string_to_sign(request, auth.canonical_request(request)), request)
        # the scope's date is part of what is signed, but say it apart
        if day != stamp[:8] or not hmac.compare_digest(want, signature):
            return 403, 'SignatureDoesNotMatch', 'signature'
        return None

    def do_PUT(self):
        body = self.rfile.read(int(self.headers.get('Content-Length', 0)))
        bad = self.verdict(body)
        if bad:
            note('refused %s %s: %d %s: %s' % (self.command, self.path, *bad))
            self.answer(bad[0], bad[1])
            return
        # path style /BUCKET/KEY on an address, virtual-hosted BUCKET.HOST/KEY on a name
        name = self.headers['host'].rsplit(':', 1)[0]
        path = urllib.parse.unquote(self.path.split('?', 1)[0])
        try:
            ipaddress.ip_address(name)
            bucket, key = path.lstrip('/').split('/', 1)
        except ValueError:
            bucket, key = name.split('.', 1)[0], path.lstrip('/')
        if '..' in key.split('/') or not key:
            self.answer(400, 'InvalidArgument')
            return
        dest = os.path.join(out, bucket, key)
        os.makedirs(os.path.dirname(dest), exist_ok=True)
        with open(dest, 'wb') as f:
            f.write(body)
        note('stored %s/%s signed=%s' % (bucket, key, self.headers['Authorization'].split('SignedHeaders=')[1].split(',')[0]))
        self.answer(200)

    do_POST = do_PUT

    def log_message(self, *a):
        pass

server = http.server.ThreadingHTTPServer((host, int(port)), S3)
note('listening on %s:%s' % (host, port))
server.serve_forever()
PY
ip netns exec "$NS_A" "$PY" "$dir/recv.py" "$dir/recv" "$IP_A" 8080 "$dir/recv.creds" "$region" "$dir/recv.log" &
RECV_PID=$!
for _ in $(seq 100); do
	grep -q '^listening' "$dir/recv.log" 2>/dev/null && break
	sleep 0.05
done
grep -q '^listening' "$dir/recv.log" 2>/dev/null || fail "the receiver did not start"

# --- the receiver refuses what is not signed right (else it proves nothing) -----------
control() { # WANT_CODE [curl options...]: a PUT of "data" signed by curl alone
	local want=$1 code; shift
	code=$(printf 'user = "%s:%s"\n' "$key_id" "$secret" |
		in_b curl -s -K - -o /dev/null -w '%{http_code}' --aws-sigv4 "aws:amz:$region:s3" \
			-X PUT --data-binary data "$@" "http://$IP_A:8080/captures/control") || true
	[ "$code" = "$want" ] || fail "control $*: HTTP $code, want $want: $(tail -n 1 "$dir/recv.log")"
}
data_hash=$(printf data | sha256sum | cut -c1-64)
control 200 -H "x-amz-content-sha256: $data_hash"
control 403
control 400 -H "x-amz-content-sha256: $(printf other | sha256sum | cut -c1-64)"
control 403 -H "x-amz-content-sha256: $data_hash" -H "x-amz-date: 20200101T000000Z"
grep -q 'RequestTimeTooSkewed' "$dir/recv.log" || fail "the stale date was refused for another reason"
rm -rf "$dir/recv/captures"
echo "ok: controls: signed right 200; x-amz-content-sha256 unsigned 403, of other bytes 400, stale date 403"

# --- the recipe -------------------------------------------------------------------------
# the recipe does not read what it ships: random bytes, a different size each time
make_capture() { head -c $((100000 + RANDOM)) /dev/urandom >"$1"; }
age-keygen -o "$dir/key.txt" 2>/dev/null || fail "age-keygen"
pub=$(age-keygen -y "$dir/key.txt") || fail "age-keygen -y"

# A curl first on PATH that records its argv and, as it starts, every command
# line on the machine (the recipe's shell included), then runs the real one.
real_curl=$(command -v curl)
cat >"$dir/bin/curl" <<EOF
#!/bin/bash
printf '%s\n' "\$@" >>"$dir/curl.argv"
for c in /proc/[0-9]*/cmdline; do { tr '\0' ' ' <"\$c"; } 2>/dev/null; echo; done >>"$dir/cmdlines"
exec "$real_curl" "\$@"
EOF
chmod 0755 "$dir/bin/curl"

upload() { # FILE [VAR=VALUE ...]: the recipe inside namespace B, S3 settings first
	local f=$1; shift
	in_b env PATH="$dir/bin:$PATH" RINGCAP_UPLOAD_S3_URL="http://$IP_A:8080/captures" \
		RINGCAP_UPLOAD_S3_REGION="$region" RINGCAP_UPLOAD_S3_PREFIX=sensor1/eth1/ \
		RINGCAP_UPLOAD_CREDENTIALS_FILE="$dir/creds" RINGCAP_UPLOAD_RECIPIENT="$pub" "$@" \
		${TRACE:+strace -f -qq -e trace=execve -s 65535 -o "$dir/exec.trace"} \
		bash dist/ringcap-upload "$f" 2>"$dir/upload.log"
}
leftovers() { find "$dir/cap" -name '.*upload*' | wc -l; }
stored() { grep -c '^stored' "$dir/recv.log"; }

TRACE=
command -v strace >/dev/null && TRACE=1
for name in "cap-20261207-101500.pcap" "cap été #1 +x&y=%41.pcap"; do
	f="$dir/cap/$name"
	make_capture "$f"
	cp "$f" "$dir/orig.pcap"
	upload "$f" || fail "upload of '$name' failed: $(cat "$dir/upload.log"; tail -n 1 "$dir/recv.log")"
	[ ! -e "$f" ] || fail "the local file stayed after a 2xx"
	got="$dir/recv/captures/sensor1/eth1/$name.zst.age"
	[ -f "$got" ] || fail "no object 'sensor1/eth1/$name.zst.age': $(tail -n 1 "$dir/recv.log")"
	head -c 21 "$got" | grep -q 'age-encryption.org/v1' || fail "not an age file"
	age -d -i "$dir/key.txt" "$got" | zstd -q -d -c >"$dir/got.pcap" || fail "cannot decrypt/decompress"
	cmp "$dir/orig.pcap" "$dir/got.pcap" || fail "the object differs from the original"
	tail -n 1 "$dir/recv.log" | grep -q 'signed=host;x-amz-content-sha256;x-amz-date' ||
		fail "signed headers: $(tail -n 1 "$dir/recv.log")"
	echo "ok: S3 path style '$name': signature and payload hash verified, back byte for byte, local copy removed"
	TRACE=
done
[ "$(leftovers)" = 0 ] || fail "temporary files left: $(ls -a "$dir/cap")"

# --- the secret on no command line -----------------------------------------------------------
grep -qx -- -K "$dir/curl.argv" || fail "the curl wrapper did not run: $(cat "$dir/curl.argv" 2>/dev/null)"
grep -qF 'dist/ringcap-upload' "$dir/cmdlines" || fail "the process scan did not see the recipe"
! grep -qF -f "$dir/needle" "$dir/curl.argv" || fail "the secret is on curl's command line"
! grep -qF -f "$dir/needle" "$dir/cmdlines" || fail "the secret is on a command line: $(grep -F -f "$dir/needle" "$dir/cmdlines")"
grep -qF "$key_id" "$dir/curl.argv" "$dir/cmdlines" && fail "the access key id is on a command line too"
if [ -f "$dir/exec.trace" ]; then
	grep -q "execve(\"$real_curl\"" "$dir/exec.trace" || fail "strace saw no curl: $(head -n 3 "$dir/exec.trace")"
	! grep -qF -f "$dir/needle" "$dir/exec.trace" || fail "the secret is in an execve: $(grep -F -f "$dir/needle" "$dir/exec.trace")"
	echo "ok: the secret is in none of $(grep -c 'execve(' "$dir/exec.trace") execve calls (strace -f)"
fi
echo "ok: the secret is in neither curl's argv nor any of $(wc -l <"$dir/cmdlines") command lines seen as curl started"

# --- virtual-hosted style, curl options passed through ------------------------------------
f="$dir/cap/vhost.pcap"
make_capture "$f"
cp "$f" "$dir/orig.pcap"
upload "$f" RINGCAP_UPLOAD_S3_URL=http://captures.s3.test:8080 RINGCAP_UPLOAD_S3_PREFIX= \
	RINGCAP_UPLOAD_CURL_OPTS="--resolve captures.s3.test:8080:$IP_A --max-time 60" ||
	fail "virtual-hosted upload failed: $(cat "$dir/upload.log"; tail -n 1 "$dir/recv.log")"
age -d -i "$dir/key.txt" "$dir/recv/captures/vhost.pcap.zst.age" | zstd -q -d -c | cmp - "$dir/orig.pcap" ||
	fail "virtual-hosted: the object differs"
echo "ok: S3 virtual-hosted style with RINGCAP_UPLOAD_CURL_OPTS"

# --- a wrong secret: 403, the file stays ------------------------------------------------
f="$dir/cap/wrong.pcap"
make_capture "$f"
make_credentials "$dir/creds.wrong" "${secret}x"
n=$(stored)
upload "$f" RINGCAP_UPLOAD_CREDENTIALS_FILE="$dir/creds.wrong" && fail "a wrong secret counted as success"
grep -q 'HTTP 403 (SignatureDoesNotMatch)' "$dir/upload.log" || fail "no line naming the 403: $(cat "$dir/upload.log")"
[ -f "$f" ] || fail "the file was removed after a 403"
[ "$(stored)" = "$n" ] || fail "the receiver stored a wrongly signed object"
[ "$(leftovers)" = 0 ] || fail "temporary files left after a 403: $(ls -a "$dir/cap")"
echo "ok: wrong secret: $(cat "$dir/upload.log")"

# --- credentials files refused before anything is sent: exit 2, one line --------------------
refused() { # WHAT NEEDLE [VAR=VALUE ...]
	local what=$1 needle=$2 rc lines n; shift 2
	n=$(wc -l <"$dir/recv.log")
	upload "$f" "$@"
	rc=$?
	lines=$(wc -l <"$dir/upload.log")
	[ "$rc" = 2 ] || fail "$what: exit $rc, want 2: $(cat "$dir/upload.log")"
	[ "$lines" = 1 ] || fail "$what: $lines lines on stderr, want 1: $(cat "$dir/upload.log")"
	grep -qF -- "$needle" "$dir/upload.log" || fail "$what: does not say '$needle': $(cat "$dir/upload.log")"
	[ "$(wc -l <"$dir/recv.log")" = "$n" ] || fail "$what: a request reached the receiver"
	[ -f "$f" ] || fail "$what: the file was removed"
	[ "$(leftovers)" = 0 ] || fail "$what: temporary files left"
	echo "ok: $what -> exit 2: $(cat "$dir/upload.log")"
}
cp -p "$dir/creds" "$dir/creds.open"
chmod 0644 "$dir/creds.open"
refused "credentials mode 0644" "'$dir/creds.open' has mode 0644" RINGCAP_UPLOAD_CREDENTIALS_FILE="$dir/creds.open"
chmod 0640 "$dir/creds.open"
refused "credentials mode 0640" "'$dir/creds.open' has mode 0640" RINGCAP_UPLOAD_CREDENTIALS_FILE="$dir/creds.open"
ln -s "$dir/creds" "$dir/creds.link"
refused "credentials through a link" "'$dir/creds.link' is a symbolic link, not a regular file" RINGCAP_UPLOAD_CREDENTIALS_FILE="$dir/creds.link"
refused "no credentials file" "RINGCAP_UPLOAD_CREDENTIALS_FILE is not set" RINGCAP_UPLOAD_CREDENTIALS_FILE=
printf '[default]\naws_access_key_id = %s\n' "$key_id" >"$dir/creds.half"
chmod 0600 "$dir/creds.half"
refused "credentials without a secret" "lacks an aws_access_key_id or aws_secret_access_key" RINGCAP_UPLOAD_CREDENTIALS_FILE="$dir/creds.half"
refused "S3 with POST" "must be PUT" RINGCAP_UPLOAD_METHOD=POST
refused "both URLs" "not both" RINGCAP_UPLOAD_URL="http://$IP_A:8080/up"

# --- the example config, installed world-readable, holds no secret --------------------------
grep -qx '#RINGCAP_UPLOAD_CREDENTIALS_FILE=/etc/ringcap/upload.credentials' dist/example.conf ||
	fail "example.conf does not point at the credentials file"
grep -Eiv '^[[:space:]]*#' dist/example.conf | grep -Ei 'secret|aws_|CREDENTIALS' &&
	fail "example.conf sets a credential"
echo "ok: example.conf points at the credentials file and sets no credential"
