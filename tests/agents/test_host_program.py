"""A host program that forks, uses threads and asyncio, and exits abruptly after flush()."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from collections import Counter
from pathlib import Path

import pytest

from .conftest import StubCollector

HOST = textwrap.dedent("""
    import asyncio, os, sys, threading
    from autoscope import agents

    agents.configure(collector_url=sys.argv[1], team="t", actor="a@lab.example", tool="host",
                     schedule_delay_s=0.05, transport=sys.argv[2])

    def worker(n):
        for i in range(50):
            agents.task("analysis", human_minutes=1, task_id=f"thread-{n}-{i}").finish()

    @agents.task("hypothesis", human_minutes=2)
    async def think(i):
        await asyncio.sleep(0.001)

    async def main():
        await asyncio.gather(*(think(i) for i in range(40)))
        async with agents.task("communication", human_minutes=3, task_id="async-with"):
            await asyncio.sleep(0)

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(4)]
    for t in threads:
        t.start()
    pid = os.fork()  # while the threads emit and the exporter thread sends
    if pid == 0:
        for i in range(25):
            agents.review(f"child-{i}", "approved", minutes=1)
        ok = agents.flush(15)
        os._exit(0 if ok and agents.stats()["sent"] == 25 else 3)
    asyncio.run(main())
    for t in threads:
        t.join()
    _, status = os.waitpid(pid, 0)
    ok = agents.flush(15)
    print(os.waitstatus_to_exitcode(status), ok, agents.stats()["sent"], flush=True)
    os._exit(0)  # abrupt: no atexit, no interpreter shutdown
""")


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs fork()")
@pytest.mark.parametrize("transport", ["otlp", "native"])
def test_fork_threads_asyncio_abrupt_exit(collector: StubCollector, tmp_path: Path, transport: str) -> None:
    script = tmp_path / "host.py"
    script.write_text(HOST)
    out = subprocess.run(
        [sys.executable, str(script), collector.url, transport],
        capture_output=True,
        text=True,
        timeout=60,
        env=dict(os.environ),
    )
    assert out.returncode == 0, out.stderr
    child_code, flushed, sent = out.stdout.split()
    assert (child_code, flushed, sent) == ("0", "True", str(200 + 40 + 1))
    ids = Counter(collector.accepted_ids())
    assert len(ids) == 200 + 40 + 1 + 25 and set(ids.values()) == {1}  # all, each once
    by_type = Counter(e["type"] for e in collector.accepted)
    assert by_type == {"task": 241, "review": 25}
    assert "Traceback" not in out.stderr
