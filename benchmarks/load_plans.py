"""The user classes of each load run (benchmarks/locustfile.py), named on locust's command
line by bench_load.py (which must not import locust: it monkey-patches the process)."""

PLANS = {
    "mixed": ("WizardUser", "RequesterUser", "ClerkUser"),
    "status": ("StatusOnly",),
    "queue": ("QueueOnly",),
    "hello": ("HelloUser",),
    "home": ("HomeOnly",),
}
