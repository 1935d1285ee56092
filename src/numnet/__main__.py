"""``python -m numnet``: the numnet command line."""

from .cli import main

main()
