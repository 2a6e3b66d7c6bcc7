#!/usr/bin/env python3
"""Interleaved side-by-side echo runs with per-message CPU and syscall stats.

run.py --rounds=3 --seconds=3 --conns=8 --size=65536 --window=2 [--shim] \
       name=/path/to/server[:arg,arg] ...
Each round starts every server in turn (fresh process), drives it with
echo_client for --seconds, and records msgs/s, server CPU (user/sys us per
message, from /proc/PID/stat over the run), client CPU, and (with --shim)
the LD_PRELOAD syscall statistics.
"""
import argparse, json, os, re, signal, statistics, subprocess, sys, time

CLK = os.sysconf("SC_CLK_TCK")

def cpu(pid):
    with open(f"/proc/{pid}/stat") as f:
        parts = f.read().rsplit(")", 1)[1].split()
    return int(parts[11]) / CLK, int(parts[12]) / CLK  # utime, stime (all threads)

NSTAT_KEYS = ["TcpRetransSegs", "TcpExtPruneCalled", "TcpExtTCPRcvCollapsed", "TcpExtTCPToZeroWindowAdv",
              "TcpExtTCPWantZeroWindowAdv", "TcpExtTCPDSACKRecv", "TcpExtDelayedACKs", "TcpExtTCPBacklogCoalesce",
              "TcpExtTCPFastRetrans", "TcpExtTCPTimeouts", "TcpExtTCPRcvQDrop", "TcpExtTCPOFOQueue",
              "TcpExtTCPLossProbes", "TcpExtTCPSpuriousRTOs", "TcpInSegs", "TcpOutSegs"]

def ctxsw(pid):
    v = nv = 0
    for t in os.listdir(f"/proc/{pid}/task"):
        try:
            for line in open(f"/proc/{pid}/task/{t}/status"):
                if line.startswith("voluntary_ctxt_switches"): v += int(line.split()[1])
                elif line.startswith("nonvoluntary_ctxt_switches"): nv += int(line.split()[1])
        except OSError:
            pass
    return v, nv

def nstat():
    out = subprocess.run(["nstat", "-asz"], capture_output=True, text=True).stdout
    d = {}
    for line in out.splitlines():
        f = line.split()
        if len(f) >= 2 and f[0] in NSTAT_KEYS:
            d[f[0]] = int(f[1])
    return d

def parse_shim(path):
    out = {}
    try:
        text = open(path).read()
    except OSError:
        return out
    for line in text.splitlines():
        if line.startswith("clock_calls"):
            out["clock_calls"] = int(line.split("=")[1]); continue
        if line.startswith("poll_events"):
            for kv in line.split():
                k, v = kv.split("=")
                out[k] = int(v)
            continue
        name = line.split()[0]
        kv = dict(x.split("=", 1) for x in line.split()[1:])
        d = {k: int(kv[k]) for k in ("calls", "bytes", "eagain", "ns")}
        d["buckets"] = [tuple(int(y) for y in b.split("/")) for b in kv["buckets(calls/ns)"].split(",")]
        out[name] = d
    return out

def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--seconds", type=float, default=3)
    ap.add_argument("--conns", type=int, default=8)
    ap.add_argument("--size", type=int, default=65536)
    ap.add_argument("--window", type=int, default=2)
    ap.add_argument("--mode", default="throughput")
    ap.add_argument("--client", default="bazel-bin/benchmarks/echo_client",
                    help="the load client (build it with --config=opt)")
    ap.add_argument("--shim_path", default="/tmp/iostat_shim.so",
                    help="the LD_PRELOAD shim built from iostat_shim.c (see README.md)")
    ap.add_argument("--out_dir", default="/tmp/gaio_perf", help="where shim summaries go")
    ap.add_argument("--shim", action="store_true")
    ap.add_argument("--json_out", default="")
    ap.add_argument("--port", type=int, default=19500)
    ap.add_argument("--pin", default="", help="'same': server and client on cpu 0; 'split': server 0, client 1")
    ap.add_argument("--env", action="append", default=[], help="NAME=VALUE for the servers")
    ap.add_argument("servers", nargs="+")
    a = ap.parse_args()
    servers = []
    for s in a.servers:
        name, spec = s.split("=", 1)
        path, _, args = spec.partition(":")
        servers.append((name, path, [x for x in args.split(",") if x]))
    results = {n: [] for n, _, _ in servers}
    port = a.port
    for rnd in range(a.rounds):
        for name, path, args in servers:
            port += 1
            env = dict(os.environ)
            os.makedirs(a.out_dir, exist_ok=True)
            shim_out = f"{a.out_dir}/shim_{os.getpid()}_{name}_{rnd}.txt"
            if a.shim:
                env["LD_PRELOAD"] = a.shim_path
                env["SHIM_OUT"] = shim_out
            for kv in a.env:
                k, v = kv.split("=", 1)
                env[k] = v.replace("{name}", name).replace("{round}", str(rnd))
            spin = ["taskset", "-c", "0"] if a.pin in ("same", "split") else []
            cpin = ["taskset", "-c", "0" if a.pin == "same" else "1"] if a.pin else []
            p = subprocess.Popen(spin + [path, f"--port={port}"] + args, stdout=subprocess.PIPE,
                                 stderr=subprocess.STDOUT, env=env, text=True)
            line = p.stdout.readline()
            if "listening" not in line:
                print(name, "did not start:", line, file=sys.stderr)
                p.kill(); continue
            n0 = nstat()
            u0, s0 = cpu(p.pid)
            cs0 = ctxsw(p.pid)
            t0 = time.time()
            c = subprocess.Popen(cpin + [a.client, f"--port={port}", f"--mode={a.mode}", f"--conns={a.conns}",
                                  f"--size={a.size}", f"--window={a.window}", f"--seconds={a.seconds}",
                                  "--warmup=0", "--json"], stdout=subprocess.PIPE, text=True)
            _, status, ru = os.wait4(c.pid, 0)
            out = c.stdout.read()
            t1 = time.time()
            u1, s1 = cpu(p.pid)
            cs1 = ctxsw(p.pid)
            n1 = nstat()
            p.send_signal(signal.SIGTERM)
            try:
                p.wait(timeout=5)
            except subprocess.TimeoutExpired:
                p.kill(); p.wait()
            try:
                r = json.loads(out)["result"]
            except Exception:
                print(name, "client output:", out, file=sys.stderr); continue
            m = max(1, r["messages"])
            rec = {"round": rnd, "msgs_per_s": r["msgs_per_s"], "messages": r["messages"],
                   "errors": r["errors"], "p99_us": r.get("p99_us", 0),
                   "srv_user_us": (u1 - u0) * 1e6 / m, "srv_sys_us": (s1 - s0) * 1e6 / m,
                   "cli_user_us": ru.ru_utime * 1e6 / m, "cli_sys_us": ru.ru_stime * 1e6 / m,
                   "wall": t1 - t0,
                   "srv_vcs": (cs1[0] - cs0[0]) / m, "srv_ivcs": (cs1[1] - cs0[1]) / m,
                   "cli_vcs": ru.ru_nvcsw / m, "cli_ivcs": ru.ru_nivcsw / m,
                   "nstat": {k: n1.get(k, 0) - n0.get(k, 0) for k in NSTAT_KEYS}}
            if a.shim:
                time.sleep(0.05)
                sh = parse_shim(shim_out)
                rec["shim"] = sh
                if sh:
                    rd, sd = sh["read"], sh["send"]
                    rec["reads_per_msg"] = rd["calls"] / m
                    rec["read_eagain_per_msg"] = rd["eagain"] / m
                    rec["read_us"] = rd["ns"] / max(1, rd["calls"]) / 1e3
                    rec["read_us_per_msg"] = rd["ns"] / m / 1e3
                    rec["avg_read_kib"] = rd["bytes"] / max(1, rd["calls"] - rd["eagain"]) / 1024
                    rec["sends_per_msg"] = sd["calls"] / m
                    rec["send_us"] = sd["ns"] / max(1, sd["calls"]) / 1e3
                    rec["send_us_per_msg"] = sd["ns"] / m / 1e3
                    rec["polls_per_msg"] = sh["poll"]["calls"] / m
                    rec["reads_per_poll"] = rd["calls"] / max(1, sh["poll"]["calls"])
                    rec["clock_per_msg"] = sh.get("clock_calls", 0) / m
            results[name].append(rec)
            extra = ""
            if "read_us" in rec:
                extra = (" rd/msg=%.2f rd_us=%.1f kiB/rd=%.1f eagain/msg=%.3f snd/msg=%.2f snd_us=%.1f"
                         " poll/msg=%.3f rd/poll=%.1f clk/msg=%.2f" % (rec["reads_per_msg"], rec["read_us"], rec["avg_read_kib"],
                         rec["read_eagain_per_msg"], rec["sends_per_msg"], rec["send_us"],
                         rec["polls_per_msg"], rec["reads_per_poll"], rec["clock_per_msg"]))
            ns = rec["nstat"]
            extra += " | cs/msg srv v%.2f i%.2f cli v%.2f i%.2f" % (rec["srv_vcs"], rec["srv_ivcs"], rec["cli_vcs"], rec["cli_ivcs"])
            extra += " | retr=%d prune=%d collapse=%d zwin=%d wantzw=%d segs/msg=%.2f" % (
                ns["TcpRetransSegs"], ns["TcpExtPruneCalled"], ns["TcpExtTCPRcvCollapsed"],
                ns["TcpExtTCPToZeroWindowAdv"], ns["TcpExtTCPWantZeroWindowAdv"], ns["TcpOutSegs"] / m)
            print("r%d %-16s %9.0f msgs/s  srv u/s %5.1f/%5.1f us/msg  cli u/s %5.1f/%5.1f%s" % (
                rnd, name, rec["msgs_per_s"], rec["srv_user_us"], rec["srv_sys_us"],
                rec["cli_user_us"], rec["cli_sys_us"], extra), flush=True)
    print("\nmedians (spread):")
    names = [n for n, _, _ in servers]
    med = {}
    for n in names:
        rs = results[n]
        if not rs: continue
        v = [x["msgs_per_s"] for x in rs]
        med[n] = statistics.median(v)
        cpu_srv = statistics.median([x["srv_user_us"] + x["srv_sys_us"] for x in rs])
        cpu_cli = statistics.median([x["cli_user_us"] + x["cli_sys_us"] for x in rs])
        su = statistics.median([x["srv_user_us"] for x in rs])
        ss = statistics.median([x["srv_sys_us"] for x in rs])
        vcs = statistics.median([x["srv_vcs"] for x in rs])
        cvcs = statistics.median([x["cli_vcs"] for x in rs])
        print("  %-16s %9.0f msgs/s [%0.f .. %0.f]  srv cpu %.1f us/msg (u %.1f s %.1f)  cli cpu %.1f us/msg  sleeps/msg srv %.3f cli %.3f" % (
            n, med[n], min(v), max(v), cpu_srv, su, ss, cpu_cli, vcs, cvcs))
    # per-round ratios against each peer
    for ref in names:
        if ref not in ("asio", "epoll"): continue
        for n in names:
            if n == ref: continue
            rat = [x["msgs_per_s"] / y["msgs_per_s"] for x, y in zip(results[n], results[ref])
                   if x["round"] == y["round"]]
            if rat:
                print("  %-16s / %-5s per-round ratios %s median %.2f" % (
                    n, ref, " ".join("%.2f" % r for r in rat), statistics.median(rat)))
    if a.json_out:
        with open(a.json_out, "w") as f:
            json.dump(results, f)

if __name__ == "__main__":
    main()
