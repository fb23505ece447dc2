#!/usr/bin/env python3
"""relay_stream.py MODE ARG: reads the notification stream as the admin user of stack.env
(VAS_REDIS_HOST/PORT/USER/PASSWORD, VAS_NOTIFY_STREAM in the environment).
  drain TAG   prints "entries seconds" for the entries whose id carries TAG
  latency MS  prints "p50 p99 n" (ms) of stream time - created_at for purchase.completed
              entries added since MS
Used by scripts/bench.sh (relay rows) and scripts/bench/relay_profile.sh."""
import datetime, os, socket, sys
mode, arg = sys.argv[1], sys.argv[2]
s = socket.create_connection((os.environ["VAS_REDIS_HOST"], int(os.environ["VAS_REDIS_PORT"])))
f = s.makefile("rb")
def cmd(*a):
    out = [b"*%d\r\n" % len(a)]
    for x in a:
        x = str(x).encode()
        out.append(b"$%d\r\n%s\r\n" % (len(x), x))
    s.sendall(b"".join(out))
    return read()
def read():
    line = f.readline(); k, r = line[:1], line[1:-2]
    if k in b"+:": return r.decode()
    if k == b"-": raise RuntimeError(r.decode())
    if k == b"$":
        n = int(r); return None if n < 0 else f.read(n + 2)[:-2].decode()
    n = int(r); return [read() for _ in range(max(n, 0))]
cmd("AUTH", os.environ["VAS_REDIS_USER"], os.environ["VAS_REDIS_PASSWORD"])
stream = os.environ.get("VAS_NOTIFY_STREAM", "vas:notify")
start = "-" if mode == "drain" else "%s-0" % arg
first = last = None; n = 0; lat = []
while True:
    chunk = cmd("XRANGE", stream, start, "+", "COUNT", 10000)
    for sid, fields in chunk:
        e = dict(zip(fields[0::2], fields[1::2])); ms = int(sid.split("-")[0])
        if mode == "drain" and e.get("id", "")[12:20] == arg:
            n += 1; first = ms if first is None else first; last = ms
        elif mode == "latency" and e.get("type") == "purchase.completed":
            t = datetime.datetime.strptime(e["created_at"], "%Y-%m-%dT%H:%M:%S.%fZ")
            lat.append(ms - t.replace(tzinfo=datetime.timezone.utc).timestamp() * 1000)
    if len(chunk) < 10000: break
    a, b = chunk[-1][0].split("-"); start = "%s-%d" % (a, int(b) + 1)
if mode == "drain":
    print(n, (last - first) / 1000 if n > 1 else 0)
else:
    lat.sort()
    pick = lambda q: lat[int((len(lat) - 1) * q)]
    print("%.2f %.2f %d" % (pick(0.5), pick(0.99), len(lat)) if lat else "- - 0")
