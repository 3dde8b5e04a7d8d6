"""One module per subcommand; each has ``register(subparsers)`` setting ``func``.

To add a command: write pipesight/commands/NAME.py and add NAME to COMMANDS.
"""

import argparse

COMMANDS = ["profile", "analyze", "lab", "doctor", "report", "graph", "compare", "bench_model",
            "watch"]


class Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # one line, exit 2, like every user mistake
        self.exit(2, f"{self.prog}: {message} (see --help)\n")
