"""atheris (libFuzzer) harness for the model-file and checkpoint loaders.

Not collected by pytest and not run in CI; needs ``pip install atheris``. Run it for a minute::

    python tests/fuzz/fuzz_loaders.py /tmp/numnet-corpus -max_total_time=60 -max_len=100000

The first byte of each input picks the loader (even: numnet.io.loads, odd:
numnet.io.checkpoint.loads_state); the rest is the file. An empty corpus folder is filled with
valid files of every kind (from tests/test_fuzz.py) to start from. Only ModelFileError may come
out of a loader: anything else is a crash that libFuzzer reports with the input that caused it.
"""

import sys
import warnings
from pathlib import Path

import atheris

with atheris.instrument_imports(include=["numnet"]):
    from numnet.io import loads
    from numnet.io._safetensors import ModelFileError
    from numnet.io.checkpoint import loads_state


def test_one_input(data):
    if not data:
        return
    loader = loads_state if data[0] % 2 else loads
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            loader(data[1:], name="fuzzed")
        except ModelFileError:
            pass


def fill_corpus(folder):
    """Write the valid seed files of tests/test_fuzz.py into an empty corpus folder."""
    sys.path.insert(0, str(Path(__file__).parents[1]))
    from test_fuzz import seed_files

    folder.mkdir(parents=True, exist_ok=True)
    if any(folder.iterdir()):
        return
    for index, (kind, raw) in enumerate(seed_files().items()):
        prefix = b"\x01" if kind.startswith("checkpoint") else b"\x00"
        (folder / f"seed-{index}-{kind}").write_bytes(prefix + raw)


def main():
    folders = [Path(arg) for arg in sys.argv[1:] if not arg.startswith("-")]
    if folders:
        fill_corpus(folders[0])
    atheris.Setup(sys.argv, test_one_input)
    atheris.Fuzz()


if __name__ == "__main__":
    main()
