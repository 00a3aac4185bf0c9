"""``python -m cli``: the same as the ``drydock`` command."""

from cli.main import main

main()
