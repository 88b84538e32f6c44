"""Tag studio latency: a 5x5 grid answered over HTTP by a warm studio
(studio on 127.0.0.1, the model already loaded), measured from the
client's request to the last byte, as the page asks for it.

    .venv/bin/python -m bench.speed.studio_latency [--model models/default] [--repeats 30]

Prints the median and 90th percentile for the page's request (JSON with the
PNG inside, zoom 2), the same with grading, the plain PNG download, and the
CPU model (lscpu) and load average, since the figure depends on both.
Target (issue 14): a 5x5 grid in < 0.3 s warm.
"""

import os
import statistics
import threading
import time
import urllib.request

from bench import cpu_name, parser


def main():
    p = parser(__doc__, __spec__)
    p.add_argument("--model", default=None, help="default: models/default")
    p.add_argument("--repeats", type=int, default=30)
    args = p.parse_args()
    from studio import make_server

    t0 = time.perf_counter()
    server = make_server("127.0.0.1", 0, model=args.model)
    start_s = time.perf_counter() - t0
    threading.Thread(target=server.serve_forever, daemon=True).start()
    base = f"http://127.0.0.1:{server.server_address[1]}"
    cases = [
        (
            "page request: /api/grid, 25 faces, zoom 2 (JSON + PNG)",
            "/api/grid?tags=blue+hair+red+eyes&n=25&cols=5&scale=2",
        ),
        (
            "same with grade=1 (checker marks + accuracy)",
            "/api/grid?tags=blue+hair+red+eyes&n=25&cols=5&scale=2&grade=1",
        ),
        ("grid PNG download, zoom 1", "/api/grid.png?tags=blue+hair+red+eyes&n=25&cols=5"),
    ]
    print(f"CPU: {cpu_name()} at the start")
    print(f"studio start-up (model load + warm-up): {start_s:.2f} s")
    worst = 0.0
    for title, path in cases:
        times = []
        for k in range(args.repeats + 2):
            seed = k % 7  # different noise, same shapes, like a user pressing "new seed"
            t = time.perf_counter()
            with urllib.request.urlopen(f"{base}{path}&seed={seed}", timeout=60) as response:
                response.read()
            if k >= 2:  # two warm-up requests
                times.append(time.perf_counter() - t)
        times.sort()
        p90 = times[min(len(times) - 1, int(0.9 * len(times)))]
        worst = max(worst, statistics.median(times))
        print(
            f"{title}: median {statistics.median(times) * 1000:.0f} ms, p90 {p90 * 1000:.0f} ms, "
            f"min {times[0] * 1000:.0f} ms over {len(times)}"
        )
    print(
        f"load average {os.getloadavg()[0]:.2f} at the end; target < 300 ms warm: "
        f"{'met' if worst < 0.3 else 'NOT met'} (worst median {worst * 1000:.0f} ms)"
    )
    server.shutdown()
    server.server_close()


if __name__ == "__main__":
    main()
