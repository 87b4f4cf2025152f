#!/usr/bin/env python3
"""Play the service manager's side of sd_notify(3): bind a unix datagram
socket (a path, or an abstract name starting with '@') and write one line per
datagram received to OUT: its arrival time (monotonic seconds), 1 if the file
WATCH existed at that moment (else 0), and the datagram's lines joined by '|'.
Runs until SECONDS have passed. Standard library only.

  notify_listen.py SOCKET OUT WATCH SECONDS
"""
import os, socket, sys, time

name, out, watch, seconds = sys.argv[1], sys.argv[2], sys.argv[3], float(sys.argv[4])
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind('\0' + name[1:] if name.startswith('@') else name)
end = time.monotonic() + seconds
with open(out, 'w', buffering=1) as f:
    f.write('listening\n')
    while True:
        left = end - time.monotonic()
        if left <= 0:
            break
        s.settimeout(left)
        try:
            data = s.recv(4096)
        except socket.timeout:
            break
        exists = 1 if os.path.exists(watch) else 0
        msg = data.decode(errors='replace').strip('\n').replace('\n', '|')
        f.write('%.3f %d %s\n' % (time.monotonic(), exists, msg))
