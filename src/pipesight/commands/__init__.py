"""One module per subcommand; each has ``register(subparsers)`` setting ``func``.

To add a command: write pipesight/commands/NAME.py and add NAME to COMMANDS.
"""

COMMANDS = ["profile", "analyze", "lab", "doctor", "report", "graph", "compare", "bench_model",
            "watch"]
