"""The huggingface_hub (Python) peer, run as its own process like every other tool.

    python3 huggingface-hub.py version
    python3 huggingface-hub.py snapshot REPO CACHE_DIR [MAX_WORKERS]

`snapshot` is what most users run: snapshot_download(repo_id, cache_dir=..., max_workers=8)
against HF_ENDPOINT, writing a Hub cache (blobs + snapshot symlinks), not a store path.
The library comes from PYTHONPATH (a checkout's src/, set by bench/lib/environment.mjs).
"""

import inspect
import sys

# Debian 12's python3-filelock (3.9) predates the mode= argument huggingface_hub >= 1.x
# passes (filelock >= 3.10); test/serve/hf-python.test.ts does the same. Accept and drop it:
# lock-file permissions do not change what is downloaded or how fast.
import filelock

if "mode" not in inspect.signature(filelock.FileLock.__init__).parameters:

    class _FileLockAcceptingMode(filelock.FileLock):
        def __init__(self, *args, mode=None, **kwargs):
            super().__init__(*args, **kwargs)

    filelock.FileLock = _FileLockAcceptingMode

import huggingface_hub  # noqa: E402
from huggingface_hub import snapshot_download  # noqa: E402

mode = sys.argv[1] if len(sys.argv) > 1 else ""
if mode == "version":
    print(huggingface_hub.__version__)
elif mode == "snapshot":
    repo, cache_dir = sys.argv[2], sys.argv[3]
    workers = int(sys.argv[4]) if len(sys.argv) > 4 else 8
    snapshot_download(repo, cache_dir=cache_dir, max_workers=workers)
else:
    sys.stderr.write("usage: huggingface-hub.py version | snapshot REPO CACHE_DIR [MAX_WORKERS]\n")
    sys.exit(2)
