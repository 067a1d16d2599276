"""Reference timing of exact kNN in PyTorch on the GPU: torch.topk(q @ db.T, k).

Same shapes and distribution as arbiter_bench (standard normal fp32). Timed with CUDA events
after a warm-up, median of `--reps` runs; the queries are already on the GPU (arbiter_bench
figures include uploading the queries and downloading the results, so this is the stricter side).
GB/s is N * d * 4 bytes per call: compare Q = 1 with the device's HBM bandwidth.
"""
import argparse
import json
import statistics

import torch


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=1_000_000)
    ap.add_argument("--d", type=int, default=256)
    ap.add_argument("--k", type=int, default=10)
    ap.add_argument("--q", default="1,64,1024")
    ap.add_argument("--reps", type=int, default=30)
    ap.add_argument("--json")
    a = ap.parse_args()
    dev = torch.device("cuda")
    torch.backends.cuda.matmul.allow_tf32 = False  # fp32, as arbiter's kernels
    g = torch.Generator(device=dev).manual_seed(12345)
    db = torch.randn(a.n, a.d, device=dev, generator=g)
    props = torch.cuda.get_device_properties(dev)
    rows = []
    for q in [int(x) for x in a.q.split(",")]:
        queries = torch.randn(q, a.d, device=dev, generator=g)
        for _ in range(3):
            torch.topk(queries @ db.T, a.k, dim=1)
        times = []
        for _ in range(a.reps):
            s, e = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
            s.record()
            torch.topk(queries @ db.T, a.k, dim=1)
            e.record()
            torch.cuda.synchronize()
            times.append(s.elapsed_time(e))
        ms = statistics.median(times)
        rows.append({"name": "torch topk(q@db.T)", "kind": "peer", "Q": q, "medianMs": ms, "qps": q * 1000 / ms,
                     "gflops": 2 * q * a.n * a.d / ms / 1e6, "gbps": a.n * a.d * 4 / ms / 1e6})
    print(f"torch {torch.__version__} on {props.name}: n={a.n} d={a.d} k={a.k}")
    for r in rows:
        print(f"  Q={r['Q']:5d}  {r['medianMs']:9.3f} ms  {r['qps']:12.1f} q/s  {r['gflops']:9.1f} GFLOP/s  {r['gbps']:8.1f} GB/s")
    if a.json:
        with open(a.json, "w") as f:
            json.dump({"machine": {"gpu": props.name, "torch": torch.__version__}, "shape": vars(a), "results": rows}, f, indent=2)


if __name__ == "__main__":
    main()
