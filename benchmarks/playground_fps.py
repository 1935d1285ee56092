"""Frames a second the playground streams to a page while training (docs/playground.md).

Starts the real server (uvicorn, 127.0.0.1, a free port), creates a session (spiral, 2-8-8-1
tanh, Adam 0.03, batch 10: the browser test's run), presses play and counts the frames one
WebSocket client receives for ``--seconds``, at the page's default speed (30 epochs a second)
and as fast as numnet trains. Run: python benchmarks/playground_fps.py [--seconds 10]
"""

import argparse
import asyncio
import json
import os
import threading
import time
import urllib.request

import uvicorn
import websockets

from numnet.playground.server import bind, create_app

SPIRAL = {"dataset": "spiral", "hidden": [8, 8], "activation": "tanh", "learning_rate": 0.03,
          "optimizer": "adam", "batch_size": 10, "seed": 0}


def post(url, body=None):
    request = urllib.request.Request(url, data=json.dumps(body or {}).encode(), method="POST",
                                     headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request) as response:
        return json.loads(response.read())


async def count_frames(base, sid, seconds):
    frames, size, epochs = 0, 0, []
    async with websockets.connect(f"ws://{base}/api/sessions/{sid}/stream",
                                  max_size=2**24) as ws:
        post(f"http://{base}/api/sessions/{sid}/play")
        start = time.monotonic()
        while time.monotonic() - start < seconds:
            message = json.loads(await ws.recv())
            if message["type"] == "frame" and message["state"] == "running":
                frames += 1
                size += len(json.dumps(message))
                epochs.append(message["epoch"])
        elapsed = time.monotonic() - start
        post(f"http://{base}/api/sessions/{sid}/pause")
    return frames / elapsed, size / max(frames, 1), (epochs[-1] - epochs[0]) / elapsed


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=float, default=10)
    seconds = parser.parse_args().seconds
    sock = bind("127.0.0.1", 0)
    server = uvicorn.Server(uvicorn.Config(create_app(), log_level="warning"))
    threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True).start()
    while not server.started:
        time.sleep(0.02)
    base = f"127.0.0.1:{sock.getsockname()[1]}"
    print(f"cores available: {len(os.sched_getaffinity(0))}")
    for speed in (30, 0):
        sid = post(f"http://{base}/api/sessions", {"settings": SPIRAL})["id"]
        post(f"http://{base}/api/sessions/{sid}/speed", {"epochs_per_second": speed})
        fps, size, eps = asyncio.run(count_frames(base, sid, seconds))
        label = f"{speed} epochs/s" if speed else "fastest"
        print(f"speed {label:>13}: {fps:5.1f} frames/s, {eps:6.1f} epochs/s, "
              f"{size / 1024:5.1f} KiB a frame")
    server.should_exit = True


if __name__ == "__main__":
    main()
